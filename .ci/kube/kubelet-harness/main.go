// Command kubelet-harness runs the kubelet's own image credential provider
// code (k8s.io/kubernetes/pkg/credentialprovider/plugin) against a
// CredentialProviderConfig and a bin dir, as the kubelet would at image
// pulls, and prints in JSON what the kubelet got. flux-mirror's tests
// (kubelet_test.go) run it with the config flux-mirror printed.
//
// The scenario is one JSON document on stdin (see scenario); the result
// is one JSON document on stdout (see result). The kubelet's code logs its
// failures through klog instead of returning them: the log is captured
// and returned too. Registration is process-wide in that code (a second
// registration of a name panics), so one process runs one scenario.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/credentialprovider/plugin"
	"k8s.io/kubernetes/pkg/util/parsers"
)

// scenario is what the test asks for.
type scenario struct {
	Config string `json:"config"`
	BinDir string `json:"binDir"`
	// Pod is the pod whose images are pulled; ServiceAccount its
	// ServiceAccount as the API server would return it (nil: not found).
	Pod            pod             `json:"pod"`
	ServiceAccount *serviceAccount `json:"serviceAccount"`
	// Tokens are what the fake TokenRequest returns, one per request; the
	// last one repeats.
	Tokens []string `json:"tokens"`
	Pulls  []pull   `json:"pulls"`
}

type pod struct {
	Namespace          string `json:"namespace"`
	Name               string `json:"name"`
	UID                string `json:"uid"`
	ServiceAccountName string `json:"serviceAccountName"`
}

type serviceAccount struct {
	UID         string            `json:"uid"`
	Annotations map[string]string `json:"annotations"`
}

// pull is one image pull, after an optional pause (to let a cached
// credential expire).
type pull struct {
	Image      string `json:"image"`
	SleepFirst string `json:"sleepFirst,omitempty"`
}

type result struct {
	// RegisterError is what RegisterCredentialProviderPlugins returned:
	// the kubelet refuses to start with it.
	RegisterError string       `json:"registerError,omitempty"`
	Pulls         []pullResult `json:"pulls"`
	// TokenRequests are the fake API server's TokenRequests.
	TokenRequests []tokenRequest `json:"tokenRequests"`
	// ServiceAccountGets counts the fake API server's ServiceAccount gets.
	ServiceAccountGets int `json:"serviceAccountGets"`
	// Log is what the kubelet's code logged (klog, verbosity 5).
	Log string `json:"log"`
}

type pullResult struct {
	Image string `json:"image"`
	// Repo is the name the kubelet looks up: the image normalized
	// (nginx is docker.io/library/nginx).
	Repo  string `json:"repo"`
	Found bool   `json:"found"`
	Auths []auth `json:"auths"`
}

type auth struct {
	Username string `json:"username"`
	Password string `json:"password"`
	// ServiceAccount is set when the credential came from a provider in
	// ServiceAccount token mode.
	ServiceAccount string `json:"serviceAccount,omitempty"`
}

type tokenRequest struct {
	Namespace      string   `json:"namespace"`
	ServiceAccount string   `json:"serviceAccount"`
	Audiences      []string `json:"audiences"`
	BoundPod       string   `json:"boundPod"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kubelet-harness:", err)
		os.Exit(1)
	}
}

func run() error {
	var sc scenario
	if err := json.NewDecoder(os.Stdin).Decode(&sc); err != nil {
		return fmt.Errorf("read the scenario: %w", err)
	}
	var log bytes.Buffer
	var logMu sync.Mutex
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for k, v := range map[string]string{"logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL", "v": "5"} {
		if err := fs.Set(k, v); err != nil {
			return err
		}
	}
	klog.SetOutput(lockedWriter{&log, &logMu})

	res := result{Pulls: []pullResult{}, TokenRequests: []tokenRequest{}}
	var mu sync.Mutex
	getServiceAccount := func(namespace, name string) (*v1.ServiceAccount, error) {
		mu.Lock()
		defer mu.Unlock()
		res.ServiceAccountGets++
		if sc.ServiceAccount == nil || namespace != sc.Pod.Namespace || name != sc.Pod.ServiceAccountName {
			return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccounts"}, name)
		}
		return &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace, Name: name, UID: types.UID(sc.ServiceAccount.UID), Annotations: sc.ServiceAccount.Annotations,
		}}, nil
	}
	getToken := func(namespace, name string, tr *authenticationv1.TokenRequest) (*authenticationv1.TokenRequest, error) {
		mu.Lock()
		defer mu.Unlock()
		rec := tokenRequest{Namespace: namespace, ServiceAccount: name, Audiences: tr.Spec.Audiences}
		if ref := tr.Spec.BoundObjectRef; ref != nil {
			rec.BoundPod = ref.Kind + "/" + ref.Name + "/" + string(ref.UID)
		}
		i := min(len(res.TokenRequests), len(sc.Tokens)-1)
		res.TokenRequests = append(res.TokenRequests, rec)
		if i < 0 {
			return nil, fmt.Errorf("the fake API server has no token")
		}
		out := tr.DeepCopy()
		out.Status = authenticationv1.TokenRequestStatus{Token: sc.Tokens[i], ExpirationTimestamp: metav1.NewTime(time.Now().Add(time.Hour))}
		return out, nil
	}

	if err := plugin.RegisterCredentialProviderPlugins(sc.Config, sc.BinDir, getToken, getServiceAccount); err != nil {
		res.RegisterError = err.Error()
	} else {
		for _, p := range sc.Pulls {
			if p.SleepFirst != "" {
				d, err := time.ParseDuration(p.SleepFirst)
				if err != nil {
					return fmt.Errorf("sleepFirst: %w", err)
				}
				time.Sleep(d)
			}
			// What the kubelet's image manager does for each pull
			// (pkg/kubelet/images/image_manager.go).
			repo, _, _, err := parsers.ParseImageName(p.Image)
			if err != nil {
				return err
			}
			keyring := plugin.NewExternalCredentialProviderDockerKeyring(sc.Pod.Namespace, sc.Pod.Name, sc.Pod.UID, sc.Pod.ServiceAccountName)
			creds, found := keyring.Lookup(repo)
			pr := pullResult{Image: p.Image, Repo: repo, Found: found, Auths: []auth{}}
			for _, c := range creds {
				a := auth{Username: c.Username, Password: c.Password}
				if c.Source != nil && c.Source.ServiceAccount != nil {
					a.ServiceAccount = c.Source.ServiceAccount.Namespace + "/" + c.Source.ServiceAccount.Name
				}
				pr.Auths = append(pr.Auths, a)
			}
			res.Pulls = append(res.Pulls, pr)
		}
	}
	klog.Flush()
	logMu.Lock()
	res.Log = log.String()
	logMu.Unlock()
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// lockedWriter serializes klog's writes with the read of the log.
type lockedWriter struct {
	b  *bytes.Buffer
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
