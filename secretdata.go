//go:build !smallhelper

package main

// What `secret` writes: the kubernetes.io/dockerconfigjson Secret built
// from resolved hosts, its annotations, and the rules that compare it with
// the Secret already in the cluster. Everything here is pure; secret.go
// and secretwrite.go talk to the API server.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// The Secret's marks. The label is the Kubernetes recommended
// app.kubernetes.io/managed-by
// (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/):
// a Secret without it is not ours, and is never overwritten without
// --force. The annotations are never secret: they say when the Secret
// lapses and who minted it, for `kubectl describe` and for
// --refresh-before.
const (
	managedByLabel       = "app.kubernetes.io/managed-by"
	managedByValue       = "flux-mirror"
	annotationExpiresAt  = "mirror.plugin.fluxcd.io/expires-at"
	annotationHosts      = "mirror.plugin.fluxcd.io/hosts"
	annotationIdentities = "mirror.plugin.fluxcd.io/identities"
)

// pullSecret is what one run writes into each target Secret.
type pullSecret struct {
	// dockerConfigJSON is the .dockerconfigjson value: the secret part.
	dockerConfigJSON []byte
	// annotations are ours only; a Secret's other annotations are kept.
	annotations map[string]string
	// hosts are the hosts written, in config or --host order.
	hosts []string
	// expiresAt is the earliest expiry of the entries; zero when none
	// expires.
	expiresAt time.Time
	// tokenHosts are the hosts written as a registrytoken.
	tokenHosts []string
}

// secretAuth is one auths entry of .dockerconfigjson, in the shape
// kubectl create secret docker-registry writes (username, password and
// their auth), or a bearer registrytoken, which go-containerregistry and
// Flux read and the kubelet does not.
type secretAuth struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	RegistryToken string `json:"registrytoken,omitempty"`
}

// hostIdentity is what the identities annotation says about a host: who
// minted its credential, never the credential.
type hostIdentity struct {
	Source   string `json:"source,omitempty"`
	Username string `json:"username,omitempty"`
	Issuer   string `json:"iss,omitempty"`
	Subject  string `json:"sub,omitempty"`
}

// newPullSecret builds the Secret's content from resolved hosts (none
// failed); skipped hosts are left out. Entries are keyed as login keys
// config.json (registryKey).
func newPullSecret(cfg *config, results []hostResult) (pullSecret, error) {
	var p pullSecret
	auths := map[string]secretAuth{}
	identities := map[string]hostIdentity{}
	for _, r := range results {
		if r.skipped {
			continue
		}
		a := r.auth
		var entry secretAuth
		switch {
		case a.RegistryToken != "":
			entry.RegistryToken = a.RegistryToken
			p.tokenHosts = append(p.tokenHosts, r.host.Host)
		case a.Username == "":
			return pullSecret{}, fmt.Errorf("host %q: no username to store the password with", r.host.Host)
		default:
			if err := checkAuthUsername(a.Username, "the Secret"); err != nil {
				return pullSecret{}, fmt.Errorf("host %q: %w", r.host.Host, err)
			}
			entry = secretAuth{Username: a.Username, Password: a.Password,
				Auth: base64.StdEncoding.EncodeToString([]byte(a.Username + ":" + a.Password))}
		}
		auths[registryKey(r.host.Host)] = entry
		p.hosts = append(p.hosts, r.host.Host)
		if !a.ExpiresAt.IsZero() && (p.expiresAt.IsZero() || a.ExpiresAt.Before(p.expiresAt)) {
			p.expiresAt = a.ExpiresAt
		}
		report := newHostReport(cfg, r.host, a)
		id := hostIdentity{Source: report.Source, Username: report.Username}
		if c := report.Claims; c != nil {
			id.Issuer, id.Subject = c.Issuer, c.Subject
		}
		identities[r.host.Host] = id
	}
	// json.Marshal sorts map keys: the same credentials give the same
	// bytes, which is how an unchanged Secret is recognised.
	data, err := json.Marshal(struct {
		Auths map[string]secretAuth `json:"auths"`
	}{auths})
	if err != nil {
		return pullSecret{}, err
	}
	ids, err := json.Marshal(identities)
	if err != nil {
		return pullSecret{}, err
	}
	p.dockerConfigJSON = data
	p.annotations = map[string]string{
		annotationHosts:      strings.Join(p.hosts, ","),
		annotationIdentities: string(ids),
	}
	if !p.expiresAt.IsZero() {
		p.annotations[annotationExpiresAt] = p.expiresAt.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	return p, nil
}

// apply returns the Secret to write in place of existing (nil: there is
// none): existing's other labels and annotations are kept, ours are set,
// and the data and type are replaced.
func (p pullSecret) apply(namespace, name string, existing *corev1.Secret) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	if existing != nil {
		s = existing.DeepCopy()
	}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	s.Labels[managedByLabel] = managedByValue
	if s.Annotations == nil {
		s.Annotations = map[string]string{}
	}
	// A Secret that no longer expires loses its old expires-at.
	for _, k := range []string{annotationExpiresAt, annotationHosts, annotationIdentities} {
		delete(s.Annotations, k)
	}
	maps.Copy(s.Annotations, p.annotations)
	s.Type = corev1.SecretTypeDockerConfigJson
	s.Data = map[string][]byte{corev1.DockerConfigJsonKey: p.dockerConfigJSON}
	s.StringData = nil
	return s
}

// sameSecret reports whether writing want over got would change nothing:
// the data, the type, our label and our annotations are equal.
func sameSecret(got, want *corev1.Secret) bool {
	return got.Type == want.Type &&
		maps.EqualFunc(got.Data, want.Data, func(a, b []byte) bool { return string(a) == string(b) }) &&
		got.Labels[managedByLabel] == want.Labels[managedByLabel] &&
		maps.Equal(ourAnnotations(got), ourAnnotations(want))
}

func ourAnnotations(s *corev1.Secret) map[string]string {
	out := map[string]string{}
	for _, k := range []string{annotationExpiresAt, annotationHosts, annotationIdentities} {
		if v, ok := s.Annotations[k]; ok {
			out[k] = v
		}
	}
	return out
}

// foreignReason says why existing is not a Secret flux-mirror may
// overwrite without --force, or "" when it is one.
func foreignReason(existing *corev1.Secret) string {
	if existing.Type != corev1.SecretTypeDockerConfigJson {
		return fmt.Sprintf("it is of type %s, not %s", existing.Type, corev1.SecretTypeDockerConfigJson)
	}
	if existing.Labels[managedByLabel] != managedByValue {
		return fmt.Sprintf("flux-mirror does not manage it (no label %s=%s)", managedByLabel, managedByValue)
	}
	return ""
}

// freshUntil returns when existing lapses if it can be left alone under
// --refresh-before margin at now: it is ours, of our type, holds exactly
// hosts, and its expires-at is later than now + margin. ok is false
// otherwise, including for a Secret that never expires: whether that one
// changed is only known after resolving.
func freshUntil(existing *corev1.Secret, hosts []string, margin time.Duration, now time.Time) (until time.Time, ok bool) {
	if existing == nil || foreignReason(existing) != "" {
		return time.Time{}, false
	}
	if existing.Annotations[annotationHosts] != strings.Join(hosts, ",") {
		return time.Time{}, false
	}
	until, err := time.Parse(time.RFC3339, existing.Annotations[annotationExpiresAt])
	if err != nil || !until.After(now.Add(margin)) {
		return time.Time{}, false
	}
	return until, true
}

// credentialHosts are the selected hosts that have something to write, in
// order: the hosts annotation of a Secret written from them.
func credentialHosts(hosts []hostConfig) []string {
	var out []string
	for _, h := range hosts {
		if h.hasCredential() {
			out = append(out, h.Host)
		}
	}
	return out
}

// secretManifest is the YAML --export prints: the Secret as
// `kubectl apply -f` takes it, data base64 as in the API.
func secretManifest(s *corev1.Secret) ([]byte, error) {
	type meta struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Labels      map[string]string `json:"labels,omitempty"`
		Annotations map[string]string `json:"annotations,omitempty"`
	}
	doc := struct {
		APIVersion string            `json:"apiVersion"`
		Kind       string            `json:"kind"`
		Metadata   meta              `json:"metadata"`
		Type       corev1.SecretType `json:"type"`
		Data       map[string][]byte `json:"data"`
	}{"v1", "Secret", meta{s.Name, s.Namespace, s.Labels, s.Annotations}, s.Type, s.Data}
	return yaml.Marshal(doc)
}

// secretRef is how output names a Secret: namespace/name, as kubectl does.
func secretRef(namespace, name string) string {
	return namespace + "/" + name
}
