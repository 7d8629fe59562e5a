package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// secretRun is one in-process secret run against the test API server,
// with a writer racing it through the beforeWrite seam.
type secretRun struct {
	t         *testing.T
	cluster   *kubeCluster
	dir       string
	namespace string
	password  string
}

// newSecretRun lays out a config whose one host's password comes from
// $FLUX_MIRROR_TEST_PASSWORD, an admin kubeconfig and a namespace.
func newSecretRun(t *testing.T) *secretRun {
	c := requireKube(t)
	r := &secretRun{t: t, cluster: c, dir: t.TempDir(), password: randomSecret()}
	ctx, cancel := context.WithTimeout(context.Background(), kubeReadyWait)
	defer cancel()
	namespaces, err := c.newNamespaces(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	r.namespace = namespaces[0]
	kubeconfig := filepath.Join(r.dir, "admin.yaml")
	if err := c.kubeconfig(kubeconfig, "admin", r.namespace); err != nil {
		t.Fatal(err)
	}
	config := `apiVersion: mirror.plugin.fluxcd.io/v1beta1
kind: Config
hosts:
  - host: localhost:5000
    username: ci
    credential:
      value: ${FLUX_MIRROR_TEST_PASSWORD}
`
	if err := os.WriteFile(filepath.Join(r.dir, "hosts.yaml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FLUX_MIRROR_TEST_PASSWORD", r.password)
	t.Setenv("KUBECONFIG", kubeconfig)
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("FLUX_MIRROR_CONFIG", "")
	return r
}

// run runs secret regcreds with race called before each write.
func (r *secretRun) run(race func(namespace string)) (code int, stdout, stderr string) {
	r.t.Helper()
	var out, errOut bytes.Buffer
	o := secretOptions{login: loginOptions{global: globalOptions{timeout: time.Minute}}, now: time.Now, beforeWrite: race}
	err := o.parse(secretFlags(&o), []string{"regcreds", "-f", filepath.Join(r.dir, "hosts.yaml")}, &out)
	if err == nil {
		err = o.run(strings.NewReader(""), &out, &errOut)
	}
	if err != nil && err != errReported {
		errOut.WriteString("✗ " + err.Error() + "\n")
	}
	code = 0
	if err != nil {
		code = 1
	}
	checkNoSecrets(r.t, []string{r.password}, "", nil, out.String(), errOut.String())
	return code, out.String(), errOut.String()
}

// touch changes the Secret as another writer would, giving it a new
// resourceVersion; labels and annotations are changed by edit.
func (r *secretRun) touch(edit func(s *corev1.Secret)) {
	r.t.Helper()
	client, err := r.cluster.admin()
	if err != nil {
		r.t.Fatal(err)
	}
	ctx := context.Background()
	s, err := client.Secrets(r.namespace).Get(ctx, "regcreds", metav1.GetOptions{})
	if err != nil {
		r.t.Fatal(err)
	}
	edit(s)
	if _, err := client.Secrets(r.namespace).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *secretRun) secret() *corev1.Secret {
	r.t.Helper()
	client, err := r.cluster.admin()
	if err != nil {
		r.t.Fatal(err)
	}
	s, err := client.Secrets(r.namespace).Get(context.Background(), "regcreds", metav1.GetOptions{})
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

func (r *secretRun) holdsPassword(s *corev1.Secret) bool {
	return strings.Contains(string(s.Data[corev1.DockerConfigJsonKey]), r.password)
}

// TestSecretConflict shows that secret never overwrites a change it did
// not read: the update carries the resourceVersion read, a conflict is
// read again and retried once, and the rules apply again to what is there
// now.
func TestSecretConflict(t *testing.T) {
	t.Run("one racing write is read again and kept", func(t *testing.T) {
		r := newSecretRun(t)
		if code, _, stderr := r.run(nil); code != 0 {
			t.Fatalf("first run: exit %d: %s", code, stderr)
		}
		r.password = randomSecret()
		t.Setenv("FLUX_MIRROR_TEST_PASSWORD", r.password)
		raced := 0
		code, stdout, stderr := r.run(func(string) {
			raced++
			if raced == 1 {
				r.touch(func(s *corev1.Secret) { s.Annotations["racer"] = "was here" })
			}
		})
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if raced != 2 {
			t.Errorf("secret wrote %d times, want 2 (the conflict, then the retry)", raced)
		}
		if !strings.Contains(stdout, "✔ updated secret "+r.namespace+"/regcreds") {
			t.Errorf("stdout:\n%s", stdout)
		}
		s := r.secret()
		if s.Annotations["racer"] != "was here" || !r.holdsPassword(s) {
			t.Errorf("after the retry: racer annotation %q, new password stored %v; want both", s.Annotations["racer"], r.holdsPassword(s))
		}
	})

	t.Run("a writer racing every attempt wins", func(t *testing.T) {
		r := newSecretRun(t)
		if code, _, stderr := r.run(nil); code != 0 {
			t.Fatalf("first run: exit %d: %s", code, stderr)
		}
		r.password = randomSecret()
		t.Setenv("FLUX_MIRROR_TEST_PASSWORD", r.password)
		code, _, stderr := r.run(func(string) {
			r.touch(func(s *corev1.Secret) { s.Annotations["racer"] += "x" })
		})
		if code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		want := "✗ secret " + r.namespace + "/regcreds: it changed while it was being written, twice: run again ("
		if !strings.HasPrefix(stderr, want) {
			t.Errorf("stderr = %q, want it to start %q", stderr, want)
		}
		if s := r.secret(); s.Annotations["racer"] != "xx" || r.holdsPassword(s) {
			t.Errorf("racer annotation %q (want xx), new password stored %v (want false)", s.Annotations["racer"], r.holdsPassword(s))
		}
	})

	t.Run("a racer that takes the Secret over is not overwritten", func(t *testing.T) {
		r := newSecretRun(t)
		if code, _, stderr := r.run(nil); code != 0 {
			t.Fatalf("first run: exit %d: %s", code, stderr)
		}
		r.password = randomSecret()
		t.Setenv("FLUX_MIRROR_TEST_PASSWORD", r.password)
		code, _, stderr := r.run(func(string) {
			r.touch(func(s *corev1.Secret) { delete(s.Labels, managedByLabel) })
		})
		if code != 1 || !strings.Contains(stderr, "refusing to overwrite it: flux-mirror does not manage it") {
			t.Fatalf("exit %d, stderr %q: want the refusal", code, stderr)
		}
		if s := r.secret(); s.Labels[managedByLabel] != "" {
			t.Errorf("the racer's Secret was labelled again: %v", s.Labels)
		}
	})
}
