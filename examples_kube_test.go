package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// kubeExamples are the manifests of examples/kubernetes.
func kubeExamples(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("examples", "kubernetes", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples/kubernetes/*.yaml: %v", err)
	}
	return files
}

// kubeDocuments splits a manifest into its documents, decoded.
func kubeDocuments(t *testing.T, file string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs []map[string]any
	for {
		raw, err := r.Read()
		if err == io.EOF {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if doc != nil {
			docs = append(docs, doc)
		}
	}
}

// TestKubernetesExamplesParse keeps the examples honest without a
// cluster: every config they carry loads as flux-mirror loads it, and
// every CronJob's command line parses as secret's.
func TestKubernetesExamplesParse(t *testing.T) {
	for _, file := range kubeExamples(t) {
		if filepath.Base(file) == "rbac.yaml" {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			var configs, cronJobs int
			for _, doc := range kubeDocuments(t, file) {
				switch doc["kind"] {
				case "ConfigMap":
					hosts, _ := doc["data"].(map[string]any)["hosts.yaml"].(string)
					if _, err := parseConfig([]byte(hosts), t.TempDir(), func(string) (string, bool) { return "", false }); err != nil {
						t.Errorf("hosts.yaml: %v", err)
					}
					configs++
				case "CronJob":
					var cj struct {
						Spec struct {
							JobTemplate struct {
								Spec struct {
									Template corev1.PodTemplateSpec `json:"template"`
								} `json:"spec"`
							} `json:"jobTemplate"`
						} `json:"spec"`
					}
					raw, _ := yaml.Marshal(doc)
					if err := yaml.Unmarshal(raw, &cj); err != nil {
						t.Fatal(err)
					}
					args := cj.Spec.JobTemplate.Spec.Template.Spec.Containers[0].Args
					if len(args) == 0 || args[0] != "secret" {
						t.Fatalf("container args %q: want a secret command", args)
					}
					o := secretOptions{login: loginOptions{global: globalOptions{timeout: time.Minute}}}
					if err := o.parse(secretFlags(&o), args[1:], io.Discard); err != nil {
						t.Errorf("flux-mirror %s: %v", strings.Join(args, " "), err)
					}
					cronJobs++
				}
			}
			if configs != 1 || cronJobs != 1 {
				t.Errorf("%d configs and %d CronJobs, want one of each", configs, cronJobs)
			}
		})
	}
}

// TestKubernetesExamplesServerDryRun has the test API server check every
// example with kubectl apply --dry-run=server, each with rbac.yaml, as the
// examples say to apply them.
func TestKubernetesExamplesServerDryRun(t *testing.T) {
	c := requireKube(t)
	client, err := c.admin()
	if err != nil {
		t.Fatal(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "flux-system"}}
	if _, err := client.Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "admin.yaml")
	if err := c.kubeconfig(kubeconfig, "admin", "default"); err != nil {
		t.Fatal(err)
	}
	rbac := filepath.Join("examples", "kubernetes", "rbac.yaml")
	for _, file := range kubeExamples(t) {
		if file == rbac {
			continue
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			cmd := exec.Command(filepath.Join(c.bin, "kubectl"), "apply", "--dry-run=server", "-f", rbac, "-f", file)
			cmd.Env = []string{"KUBECONFIG=" + kubeconfig, "HOME=" + t.TempDir()}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("kubectl apply --dry-run=server: %v\n%s", err, stderr.Bytes())
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			want := len(kubeDocuments(t, rbac)) + len(kubeDocuments(t, file))
			if len(lines) != want {
				t.Errorf("kubectl said %d lines, want one per object (%d):\n%s", len(lines), want, out)
			}
			for _, line := range lines {
				if !strings.HasSuffix(line, "(server dry run)") {
					t.Errorf("kubectl: %q", line)
				}
			}
		})
	}
}
