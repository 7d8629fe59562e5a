package main

// login's store step: every resolved credential into one Docker config
// write, with docker's checks and words.

import (
	"context"
	"fmt"
	"io"
)

// storeResults stores every resolved credential in one Docker config
// write, or with --dry-run runs the same checks and only works out where
// each would go, and fills in the reports. A host that fails to store (or
// its checks) stops the run; the hosts stored before it are still written.
func storeResults(results []hostResult, reports []hostReport, o loginOptions, stderr io.Writer) error {
	if !anyResolved(results) {
		// Every host was skipped: nothing to write, no file to create.
		return nil
	}
	var store *dockerStore
	var err error
	if o.dryRun {
		store, err = o.readStore()
	} else {
		store, err = o.openStore()
	}
	if err != nil {
		return err
	}
	defer store.close()
	store.readBack = o.readBack

	var failedHost string
	for i, r := range results {
		switch {
		case r.skipped:
		case failedHost != "":
			reports[i].Status = statusNotStored
			reports[i].Error = fmt.Sprintf("not stored: host %q failed before it", failedHost)
		default:
			dest, err := o.storeOne(store, r)
			if err != nil {
				reports[i].Status, reports[i].Error = statusFailed, oneLineError(err).Error()
				failedHost = r.host.Host
				continue
			}
			reports[i].setDestination(dest)
			switch {
			case o.dryRun:
				reports[i].Status = statusWouldStore
			case dest.unchanged:
				reports[i].Status = statusUnchanged
			default:
				reports[i].Status = statusStored
			}
		}
	}
	if o.dryRun {
		return nil
	}
	if err := store.save(); err != nil {
		for i := range reports {
			if reports[i].Status == statusStored && reports[i].Helper == "" {
				reports[i].Status, reports[i].Error = statusNotStored, "not stored: config.json was not written"
			}
		}
		return err
	}
	warnUnencrypted(reports, store.path, stderr)
	return nil
}

// warnUnencrypted prints docker login's warning, once, when this run
// wrote a password into config.json (docker/cli
// cli/command/registry/warning.go); a registry token, a helper's
// credential or an unchanged entry gets none, as in docker.
func warnUnencrypted(reports []hostReport, path string, stderr io.Writer) {
	for _, r := range reports {
		if r.Status == statusStored && r.Helper == "" && r.Kind == kindUserPass {
			fmt.Fprintf(stderr, "WARNING! Your credentials are stored unencrypted in '%s'.\n"+
				"Configure a credential helper to remove this warning, or use flux-mirror login --helper,\n"+
				"which stores no secret. See https://docs.docker.com/go/credential-store/\n", path)
			return
		}
	}
}

// storeOne stores r's credential, under a --timeout of its own (one slow
// helper call must not eat the next host's time),
// or with --dry-run runs the same checks and only says where it would go.
func (o loginOptions) storeOne(store *dockerStore, r hostResult) (destination, error) {
	if o.dryRun {
		dest, _, err := store.where(r.host.Host, r.auth, o.plaintext)
		return dest, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.global.timeout)
	defer cancel()
	dest, err := store.store(ctx, r.host.Host, r.auth, o.plaintext)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("not stored within --timeout %s: %w", formatTimeout(o.global.timeout), err)
	}
	return dest, err
}

// readBack is the dockerStore.readBack of a login: a helper call of its
// own, with its own --timeout.
func (o loginOptions) readBack(helper, key string, a hostAuth) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.global.timeout)
	defer cancel()
	err := readBack(ctx, helper, key, a)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("not read back within --timeout %s: %w", formatTimeout(o.global.timeout), err)
	}
	return err
}

func anyResolved(results []hostResult) bool {
	for _, r := range results {
		if !r.skipped {
			return true
		}
	}
	return false
}
