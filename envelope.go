package main

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"
)

// sampleToken stands in for the real token when an envelope is checked at
// load, so that a template that cannot render fails before anything is
// minted. It is JWT-shaped because most tokens are.
const sampleToken = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJzYW1wbGUifQ.c2FtcGxlLXNpZ25hdHVyZQ"

// parseEnvelope parses a credential.envelope: a text/template over
// {{ .Token }} with two functions, base64 (standard encoding, padded) and
// hex (lowercase), the same as flux-mirror's.
func parseEnvelope(envelope string) (*template.Template, error) {
	t, err := template.New("envelope").
		Option("missingkey=error").
		Funcs(template.FuncMap{
			"base64": func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
			"hex":    func(s string) string { return hex.EncodeToString([]byte(s)) },
		}).
		Parse(envelope)
	if err != nil {
		return nil, fmt.Errorf("parse envelope: %w", err)
	}
	return t, nil
}

// applyEnvelope renders a credential.envelope template with the token; an
// empty envelope leaves the token as it is.
func applyEnvelope(envelope, token string) (string, error) {
	if envelope == "" {
		return token, nil
	}
	t, err := parseEnvelope(envelope)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	// Most of the template's errors name its own text, but some quote the
	// data ("range can't iterate over <token>", "non-function <token>"):
	// such an error keeps only its position (see redact.go).
	if err := t.Execute(&b, struct{ Token string }{token}); err != nil {
		if echoesSecret(err.Error(), token) {
			return "", fmt.Errorf("render envelope: %s: the template's error is withheld because it quotes the token", templatePosition(err.Error()))
		}
		return "", fmt.Errorf("render envelope: %w", err)
	}
	if b.Len() == 0 {
		return "", errors.New("render envelope: the result is empty")
	}
	return b.String(), nil
}

// checkEnvelope reports at load an envelope that would fail at login.
func checkEnvelope(envelope string) error {
	_, err := applyEnvelope(envelope, sampleToken)
	return err
}

// templatePosition is the "template: envelope:1:40" that starts a
// text/template execution error.
func templatePosition(text string) string {
	if m := regexp.MustCompile(`^template: [^:]*:\d+(?::\d+)?`).FindString(text); m != "" {
		return m
	}
	return "template"
}
