package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
)

// A real API server for the secret tests: etcd and kube-apiserver built
// by .ci/kube/build (k8s.io/kubernetes v1.36.3, etcd v3.6.8), started
// once per test binary on 127.0.0.1 with RBAC and static tokens, and
// stopped when the tests end. The folder holding the binaries comes from
// $FLUX_MIRROR_KUBE_BIN; without it the tests that need the server skip,
// unless $FLUX_MIRROR_REQUIRE_KUBE=1 (CI), which makes that a failure.

const (
	kubeBinEnv     = "FLUX_MIRROR_KUBE_BIN"
	kubeRequireEnv = "FLUX_MIRROR_REQUIRE_KUBE"
	// kubeReadyWait bounds each start-up wait. The server is ready in
	// about 4 s on an idle machine; CI runs it on 2 loaded cores.
	kubeReadyWait = 90 * time.Second
)

// The users of the test API server (tokens.csv): admin is in
// system:masters; writer and nobody have only what a script's Role
// grants them.
var kubeUsers = []string{"admin", "writer", "nobody"}

// kubeCluster is a running etcd and kube-apiserver.
type kubeCluster struct {
	bin    string // the folder of kube-apiserver, kubectl and etcd
	dir    string // certificates, tokens, etcd data, logs
	server string // https://127.0.0.1:PORT
	caFile string
	tokens map[string]string // user: bearer token
	procs  []*exec.Cmd
}

var kube struct {
	once    sync.Once
	cluster *kubeCluster
	err     error
}

// kubeSkipMessage is what a test says when it cannot run.
const kubeSkipMessage = "no Kubernetes binaries: build them with `bash .ci/kube/build` and set " + kubeBinEnv + " to the folder it prints"

// kubeBinDir returns the folder of .ci/kube/build's binaries, or skips
// (fails under FLUX_MIRROR_REQUIRE_KUBE=1) when it is not named.
func kubeBinDir(t interface {
	Skip(...any)
	Fatal(...any)
}) string {
	bin := os.Getenv(kubeBinEnv)
	if bin == "" {
		if os.Getenv(kubeRequireEnv) == "1" {
			t.Fatal(kubeRequireEnv + "=1 but " + kubeSkipMessage)
		}
		t.Skip(kubeSkipMessage)
	}
	return bin
}

// requireKube returns the shared API server, starting it on first use,
// or skips (fails under FLUX_MIRROR_REQUIRE_KUBE=1) when there is none.
func requireKube(t interface {
	Skip(...any)
	Fatal(...any)
}) *kubeCluster {
	bin := kubeBinDir(t)
	kube.once.Do(func() { kube.cluster, kube.err = startKube(bin) })
	if kube.err != nil {
		t.Fatal("starting the test API server: ", kube.err)
	}
	return kube.cluster
}

// stopKube stops the shared API server if a test started it.
func stopKube() {
	if c := kube.cluster; c != nil {
		c.stop()
	}
}

func startKube(bin string) (*kubeCluster, error) {
	for _, name := range []string{"etcd", "kube-apiserver", "kubectl"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			return nil, fmt.Errorf("%s: %w (bash .ci/kube/build builds it)", kubeBinEnv, err)
		}
	}
	dir, err := os.MkdirTemp("", "flux-mirror-kube-")
	if err != nil {
		return nil, err
	}
	c := &kubeCluster{bin: bin, dir: dir, tokens: map[string]string{}}
	if err := c.start(); err != nil {
		c.stop()
		return nil, err
	}
	return c, nil
}

func (c *kubeCluster) start() error {
	if err := c.writeCertificates(); err != nil {
		return err
	}
	var csv strings.Builder
	for i, user := range kubeUsers {
		c.tokens[user] = randomHex(16)
		group := ""
		if user == "admin" {
			group = "system:masters"
		}
		fmt.Fprintf(&csv, "%s,%s,%d,%q\n", c.tokens[user], user, 1000+i, group)
	}
	tokens := filepath.Join(c.dir, "tokens.csv")
	if err := os.WriteFile(tokens, []byte(csv.String()), 0o600); err != nil {
		return err
	}

	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	err = c.run("etcd", "--name=test", "--data-dir="+filepath.Join(c.dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=test="+peerURL, "--unsafe-no-fsync", "--log-level=error")
	if err != nil {
		return err
	}
	if err := c.waitFor("etcd", etcdURL+"/health", http.DefaultClient, ""); err != nil {
		return err
	}

	c.server = fmt.Sprintf("https://127.0.0.1:%d", ports[2])
	err = c.run("kube-apiserver", "--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", ports[2]),
		"--tls-cert-file="+c.path("server.crt"), "--tls-private-key-file="+c.path("server.key"),
		"--client-ca-file="+c.caFile, "--token-auth-file="+tokens, "--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+c.path("sa.pub"), "--service-account-signing-key-file="+c.path("sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24", "--cert-dir="+c.path("certs"))
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	ca, err := os.ReadFile(c.caFile)
	if err != nil {
		return err
	}
	pool.AppendCertsFromPEM(ca)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return c.waitFor("kube-apiserver", c.server+"/readyz", client, c.tokens["admin"])
}

// run starts a binary of c.bin, its output going to a log in c.dir.
func (c *kubeCluster) run(name string, args ...string) error {
	log, err := os.Create(c.path(name + ".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Stdout, cmd.Stderr = log, log
	dieWithTestBinary(cmd)
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("%s: %w", name, err)
	}
	log.Close()
	c.procs = append(c.procs, cmd)
	return nil
}

// waitFor polls url until it answers 200, or fails with the tail of the
// process's log.
func (c *kubeCluster) waitFor(name, url string, client *http.Client, token string) error {
	deadline := time.Now().Add(kubeReadyWait)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	log, _ := os.ReadFile(c.path(name + ".log"))
	if len(log) > 4000 {
		log = log[len(log)-4000:]
	}
	return fmt.Errorf("%s not ready within %s; its log ends:\n%s", name, kubeReadyWait, log)
}

func (c *kubeCluster) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(c.dir)
}

func (c *kubeCluster) path(name string) string { return filepath.Join(c.dir, name) }

// writeCertificates writes a throw-away CA, the server's certificate for
// 127.0.0.1 and the ServiceAccount signing key, all EC P-256 (RSA key
// generation takes seconds on a busy machine).
func (c *kubeCluster) writeCertificates() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "flux-mirror-test-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	serverKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	serverTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kube-apiserver"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	serverDER, err := x509.CreateCertificate(rand.Reader, serverTmpl, caCert, &serverKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	c.caFile = c.path("ca.crt")
	files := map[string][]byte{"ca.crt": pemBlock("CERTIFICATE", caDER), "server.crt": pemBlock("CERTIFICATE", serverDER)}
	for name, key := range map[string]*ecdsa.PrivateKey{"server.key": serverKey, "sa.key": saKey} {
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		files[name] = pemBlock("EC PRIVATE KEY", der)
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return err
	}
	files["sa.pub"] = pemBlock("PUBLIC KEY", pub)
	for name, data := range files {
		if err := os.WriteFile(c.path(name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func pemBlock(kind string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der})
}

// freePorts returns n loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// kubeconfig writes a kubeconfig for user to path, its context's
// namespace namespace.
func (c *kubeCluster) kubeconfig(path, user, namespace string) error {
	doc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: test
  context: {cluster: test, user: %s, namespace: %s}
current-context: test
`, c.server, c.caFile, user, c.tokens[user], user, namespace)
	return os.WriteFile(path, []byte(doc), 0o600)
}

// admin is a client of the API server as admin.
func (c *kubeCluster) admin() (*corev1client.CoreV1Client, error) {
	return corev1client.NewForConfig(&rest.Config{
		Host: c.server, BearerToken: c.tokens["admin"],
		TLSClientConfig: rest.TLSClientConfig{CAFile: c.caFile},
	})
}

// newNamespaces creates n namespaces of fresh names.
func (c *kubeCluster) newNamespaces(ctx context.Context, n int) ([]string, error) {
	client, err := c.admin()
	if err != nil {
		return nil, err
	}
	var names []string
	for range n {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "t-" + randomHex(5)}}
		if _, err := client.Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return nil, err
		}
		names = append(names, ns.Name)
	}
	return names, nil
}
