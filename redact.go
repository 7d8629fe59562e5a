package main

// The one rule for text flux-mirror did not write: cloud SDK errors, HTTP
// bodies, YAML parser errors, envelope template errors and credential
// helper messages. Such text quotes whatever it was given, and what it was
// given is often a secret, so it passes through here before it reaches an
// error, a report line or JSON:
//
//   - a payload an SDK quotes after "output:" or "Response:" is dropped,
//     keeping the operation before it (and the AWS SDK's error kind after);
//   - the value of a JSON field whose name looks like a key ("…secret…",
//     "…token…", "…password…", "…key…", "…credential…", "…assertion…"),
//     the word after Bearer or Basic, anything JWT-shaped, a PEM block and a
//     long base64 or hex run become [redacted];
//   - so does every ambient secret: the value of each environment variable
//     whose name says it holds one (ACTIONS_ID_TOKEN_REQUEST_TOKEN,
//     AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, GH_TOKEN, …);
//   - an HTTP body is cut to maxForeignBodyBytes first;
//   - YAML errors keep their line, never a quoted value;
//   - text that may echo a known secret (a helper's message, a template's
//     error) is withheld when it shares any echoRun-byte run with the secret
//     or with its JSON-escaped, base64 or hex form, and is bounded.

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"unicode"
)

const (
	// redacted replaces what the rule removes.
	redacted = "[redacted]"
	// maxForeignBodyBytes bounds the excerpt of an HTTP body in an error.
	maxForeignBodyBytes = 200
	// maxEchoTextBytes bounds a helper's message in an error.
	maxEchoTextBytes = 200
	// echoRun is the length of the shortest run of a secret that counts
	// as an echo of it: long enough not to match ordinary words by chance,
	// short enough that a prefix or a slice of the secret is caught.
	echoRun = 8
	// minAmbientSecret is the shortest environment value treated as a
	// secret: shorter ones ("1", "true") would blank out ordinary words.
	minAmbientSecret = 6
)

// redactForeign applies the rule to text from a library or a server, with
// the ambient secrets of environ.
func redactForeign(text string, environ []string) string {
	text = dropQuotedPayload(text)
	// Exact copies first, so that no shape below takes only a part of an
	// ambient secret and leaves the rest.
	for _, s := range ambientSecrets(environ) {
		text = removeSecret(text, s)
	}
	uuid := regexp.MustCompile(`^[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$`)
	for _, p := range secretShapes() {
		text = p.re.ReplaceAllStringFunc(text, func(m string) string {
			// A UUID names a tenant, a client or a request, which an
			// error needs for support; it grants nothing.
			if uuid.MatchString(m) {
				return m
			}
			return p.re.ReplaceAllString(m, p.repl)
		})
	}
	return text
}

// dropQuotedPayload cuts the input an SDK quotes back in its error: the
// AWS SDK's "parse failed of process output: <json>, error: <kind>" keeps
// its kind (the last ", error: ", which the SDK appends after the payload);
// Google's "unable to parse response; Response: <executable output>" ends
// with the payload, so all of it goes.
func dropQuotedPayload(text string) string {
	for _, m := range []struct {
		marker   string
		keepKind bool
	}{{"output:", true}, {"Response:", false}} {
		i := strings.Index(text, m.marker)
		if i < 0 {
			continue
		}
		head, payload := text[:i+len(m.marker)], text[i+len(m.marker):]
		tail := ""
		if j := strings.LastIndex(payload, ", error: "); m.keepKind && j >= 0 {
			tail = payload[j:]
		}
		text = head + " " + redacted + tail
	}
	return text
}

type secretShape struct {
	re   *regexp.Regexp
	repl string
}

// secretShapes are the patterns of text that looks like a credential,
// whoever it belongs to. They are compiled per call: they serve error
// paths only, and the package keeps no mutable state.
func secretShapes() []secretShape {
	return []secretShape{
		// A PEM block, or its start when the text was cut.
		{regexp.MustCompile(`-----BEGIN [A-Z0-9 ]+-----(?s:.*?)(?:-----END [A-Z0-9 ]+-----|$)`), redacted},
		// "client_secret": "…", "SessionToken":"…", and escaped quotes
		// inside the string.
		{regexp.MustCompile(`(?i)("[\w.-]*(?:secret|token|passw|key|credential|assertion|signature|auth)[\w.-]*"\s*:\s*)"(?:[^"\\]|\\.)*"?`), `${1}"` + redacted + `"`},
		// An Authorization header's credentials.
		{regexp.MustCompile(`(?i)\b(bearer|basic)\s+[^\s",;]+`), "${1} " + redacted},
		// A JWT (or a JWS, or an aws envelope): its header is base64url
		// JSON, so it starts with "eyJ".
		{regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?`), redacted},
		// A long hex run: a key, a digest of one, a signature.
		{regexp.MustCompile(`\b[0-9a-fA-F]{32,}\b`), redacted},
		// A long base64 or base64url run. "/" is left out so that a path
		// stays readable; a key holding "/" is cut into runs that are
		// caught when long enough.
		{regexp.MustCompile(`[A-Za-z0-9+_-]{32,}={0,2}`), redacted},
	}
}

// ambientSecrets are the values of the variables in environ whose names
// say they hold a secret, such as ACTIONS_ID_TOKEN_REQUEST_TOKEN,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AZURE_CLIENT_SECRET or a
// GH_TOKEN a config substitutes. Names of a URL, a file or an ID are not.
func ambientSecrets(environ []string) []string {
	var secrets []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		name = strings.ToUpper(name)
		if len(value) < minAmbientSecret || !containsAny(name, "TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL") {
			continue
		}
		if hasAnySuffix(name, "_URL", "_FILE", "_PATH", "_DIR", "_ID", "_TYPE", "_HOST", "_FILEPATH") {
			continue
		}
		secrets = append(secrets, value)
	}
	return secrets
}

// removeSecret replaces secret, as given and in the forms it is sent in
// (JSON-escaped, base64, hex), with [redacted].
func removeSecret(text, secret string) string {
	if secret == "" {
		return text
	}
	for _, form := range secretForms(secret) {
		if form != "" {
			text = strings.ReplaceAll(text, form, redacted)
		}
	}
	return text
}

// secretForms are secret as it is written and as it travels: inside a
// JSON string, in base64 (standard and URL-safe, at each of the three byte
// alignments a slice of it can start at) and in hex.
func secretForms(secret string) []string {
	quoted, _ := json.Marshal(secret)
	forms := []string{secret, string(quoted[1 : len(quoted)-1]), hex.EncodeToString([]byte(secret))}
	// A secret inside a longer text that is base64-encoded (a helper's
	// whole stdin) is encoded from the byte offset it sits at: one of the
	// three skips lines up with it. Only whole 3-byte groups are kept,
	// because the last group mixes in the bytes that follow.
	for skip := 0; skip < 3 && skip < len(secret); skip++ {
		rest := []byte(secret[skip:])
		rest = rest[:len(rest)/3*3]
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			forms = append(forms, enc.EncodeToString(rest))
		}
	}
	return forms
}

// echoesSecret reports whether text shares a run of echoRun bytes with any
// form of secret (the whole secret when it is shorter).
func echoesSecret(text, secret string) bool {
	if secret == "" {
		return false
	}
	for _, form := range secretForms(secret) {
		if len(form) <= echoRun {
			if form != "" && strings.Contains(text, form) {
				return true
			}
			continue
		}
		for i := 0; i+echoRun <= len(form); i++ {
			if strings.Contains(text, form[i:i+echoRun]) {
				return true
			}
		}
	}
	return false
}

// boundText cuts text to max bytes on a rune boundary, marking the cut.
func boundText(text string, max int) string {
	if len(text) <= max {
		return text
	}
	text = strings.ToValidUTF8(text[:max], "")
	return text + " …"
}

// maxHelperStderrBytes bounds what is kept of a helper's stderr.
const maxHelperStderrBytes = 4 << 10

// heldStderr keeps the start of a helper's stderr, so that it can be
// checked for an echo of the secret before anyone sees it: a helper that
// copies its stdin to stderr would otherwise print the secret directly.
// Past the bound it discards, never failing the helper's writes.
type heldStderr struct {
	buf bytes.Buffer
	cut bool
}

func (w *heldStderr) Write(p []byte) (int, error) {
	if room := maxHelperStderrBytes - w.buf.Len(); len(p) > room {
		w.buf.Write(p[:max(room, 0)])
		w.cut = true
	} else {
		w.buf.Write(p)
	}
	return len(p), nil
}

// copyTo writes what the helper printed to stderr, or a note naming the
// helper call when it echoes secret.
func (w *heldStderr) copyTo(stderr io.Writer, call, secret string) {
	if w.buf.Len() == 0 || stderr == nil {
		return
	}
	text := w.buf.String()
	if echoesSecret(text, secret) {
		fmt.Fprintf(stderr, "%s: its stderr is withheld because it contains the secret\n", call)
		return
	}
	if w.cut {
		text = strings.ToValidUTF8(text, "") + " …\n"
	}
	io.WriteString(stderr, text)
}

// yamlErrorText is a YAML parser's message with its line kept and every
// quoted value dropped: "yaml: line 3: unknown anchor 'abc' referenced"
// becomes "yaml: line 3: unknown anchor referenced", the !!str `abc` of a
// type error becomes !!str, and a complex key's Go dump is cut. A quoted
// punctuation mark (expected ',' or '}') is the parser's own text and stays.
func yamlErrorText(text string) string {
	quoted := regexp.MustCompile("\\s*(?:'(?:[^']|'')*'|`[^`]*`|\"(?:[^\"\\\\]|\\\\.)*\")")
	text = quoted.ReplaceAllStringFunc(text, func(q string) string {
		inner := strings.TrimSpace(q)
		if r := []rune(inner[1 : len(inner)-1]); len(r) == 1 && !unicode.IsLetter(r[0]) && !unicode.IsDigit(r[0]) {
			return q
		}
		return ""
	})
	text = regexp.MustCompile(`invalid map key: .*`).ReplaceAllString(text, "invalid map key (a key must be a scalar)")
	return redactForeign(text, os.Environ())
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

func hasAnySuffix(s string, suffixes ...string) bool {
	for _, suffix := range suffixes {
		if strings.HasSuffix(s, suffix) {
			return true
		}
	}
	return false
}

const (
	// maxResponseBytes bounds what is read of an identity endpoint's answer.
	maxResponseBytes = 1 << 20
	// maxErrorBodyBytes bounds how much of a failed answer goes into an
	// error (see redact.go).
	maxErrorBodyBytes = maxForeignBodyBytes
)

// errorBody returns the start of a failed answer's body on one line, for
// an error message.
func errorBody(body io.Reader) string {
	data, _ := io.ReadAll(io.LimitReader(body, maxErrorBodyBytes+1))
	cut := len(data) > maxErrorBodyBytes
	if cut {
		data = data[:maxErrorBodyBytes]
	}
	text := strings.Join(strings.Fields(strings.ToValidUTF8(string(data), "\uFFFD")), " ")
	if cut {
		return text + " …"
	}
	if text == "" {
		return "(empty body)"
	}
	return text
}
