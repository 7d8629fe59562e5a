//go:build !smallhelper

package main

// What secret prints: the hosts' lines as login prints them, a line per
// Secret, or one JSON document.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// Statuses of a Secret in secret's report.
const (
	secretCreated      = "created"
	secretUpdated      = "updated"
	secretReplaced     = "replaced"
	secretUnchanged    = "unchanged"
	secretFresh        = "fresh"
	secretWouldCreate  = "would create"
	secretWouldUpdate  = "would update"
	secretWouldReplace = "would replace"
	secretFailed       = "failed"
	secretNotWritten   = "not written"
	// accountFailed is the ServiceAccount's status when the Secret was
	// written and listing it in imagePullSecrets failed.
	accountFailed = "failed"
)

// MarshalJSON names the Secret in the report.
func (t *secretTarget) MarshalJSON() ([]byte, error) {
	type fields secretTarget
	return json.Marshal(struct {
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		*fields
	}{t.namespace, t.name, (*fields)(t)})
}

// print reports the run: the hosts' lines as login prints them, then a
// line per Secret; or one JSON document.
func (o *secretOptions) print(hosts []hostReport, targets []*secretTarget, stdout, stderr io.Writer) error {
	var shown []hostReport
	for _, r := range hosts {
		if r.Status != "" {
			shown = append(shown, r)
		}
	}
	failed := false
	for _, t := range targets {
		switch {
		case t.Status == secretFailed || t.Status == secretNotWritten:
			failed = true
			fmt.Fprintf(stderr, "✗ secret %s: %s\n", secretRef(t.namespace, t.name), t.Error)
		case t.AccountStatus == accountFailed:
			failed = true
			fmt.Fprintf(stderr, "✗ %s\n", t.Error)
		}
	}
	if o.login.output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err := enc.Encode(struct {
			DryRun  bool            `json:"dryRun,omitempty"`
			Secrets []*secretTarget `json:"secrets"`
			Hosts   []hostReport    `json:"hosts,omitempty"`
		}{o.login.dryRun, targets, shown})
		if err != nil {
			return err
		}
	} else {
		// The hosts' lines say where they went: only when a Secret got them.
		if slices.ContainsFunc(targets, func(t *secretTarget) bool {
			return t.Status != secretFailed && t.Status != secretNotWritten
		}) {
			printText(shown, o.login.dryRun, o.now(), stdout, stderr)
		}
		out := bufio.NewWriter(stdout)
		for _, t := range targets {
			if line := secretLine(t); line != "" {
				fmt.Fprintln(out, line)
			}
		}
		out.Flush()
	}
	if failed {
		return errReported
	}
	return nil
}

// secretLine is a Secret's one-line summary, with its ServiceAccount's.
func secretLine(t *secretTarget) string {
	ref := secretRef(t.namespace, t.name)
	var line string
	switch t.Status {
	case secretFresh:
		return fmt.Sprintf("• %s is fresh until %s", ref, t.ExpiresAt.Format(time.RFC3339))
	case secretUnchanged:
		line = fmt.Sprintf("• secret %s is unchanged", ref)
	case secretCreated, secretUpdated, secretReplaced:
		line = fmt.Sprintf("✔ %s secret %s", t.Status, ref)
	case secretWouldCreate, secretWouldUpdate, secretWouldReplace:
		line = fmt.Sprintf("• %s secret %s", t.Status, ref)
	default:
		return ""
	}
	switch t.AccountStatus {
	case "added":
		line += fmt.Sprintf("\n✔ serviceaccount %s pulls with secret %s", t.ServiceAccount, t.name)
	case "already listed":
		line += fmt.Sprintf("\n• serviceaccount %s already pulls with secret %s", t.ServiceAccount, t.name)
	case "would add":
		line += fmt.Sprintf("\n• would add secret %s to serviceaccount %s", t.name, t.ServiceAccount)
	}
	return line
}
