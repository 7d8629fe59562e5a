package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/rogpeppe/go-internal/testscript"
)

// kubeCmds are script commands for the secret scripts.
var kubeCmds = map[string]scriptCmd{
	"kubesecret": cmdKubeSecret,
}

// cmdKubeSecret reads Secret NAME in namespace NS with the test API
// server's kubectl, as the script's KUBECONFIG user, and writes its decoded
// .dockerconfigjson to FILE with a final newline (as a txtar file ends),
// and declares FILE a credential store for the sweep. kubectl's answer goes to the file only: a script's log never
// shows a credential.
//
//	kubesecret NS NAME FILE
func cmdKubeSecret(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 || kube.cluster == nil {
		ts.Fatalf("usage: kubesecret NS NAME FILE (in a secret-*.txt script)")
	}
	kubectl := filepath.Join(kube.cluster.bin, "kubectl")
	cmd := exec.Command(kubectl, "get", "secret", args[1], "-n", args[0], "-o", `jsonpath={.data.\.dockerconfigjson}`)
	cmd.Env = []string{"KUBECONFIG=" + ts.Getenv("KUBECONFIG"), "HOME=" + ts.Getenv("HOME")}
	out, err := cmd.Output()
	if err != nil {
		ts.Fatalf("kubectl get secret %s/%s: %v", args[0], args[1], err)
	}
	data, err := base64.StdEncoding.DecodeString(string(out))
	if err != nil {
		ts.Fatalf("secret %s/%s: .dockerconfigjson is not base64", args[0], args[1])
	}
	cmdSecret(ts, false, []string{"-store", args[2]})
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), append(data, '\n'), 0o600))
}

// setupKubeScript gives a secret-*.txt script the API server: three
// namespaces of its own ($NS, $NS2, $NS3), a kubeconfig per user in
// $WORK/kube ($KUBE_ADMIN, $KUBE_WRITER, $KUBE_NOBODY, each with $NS as
// its namespace; their tokens in $KUBE_TOKEN_ADMIN...), the server's URL
// and CA ($KUBE_SERVER, $KUBE_CA), KUBECONFIG the admin's, and kubectl
// first on PATH.
func setupKubeScript(env *testscript.Env) error {
	c := requireKube(env.T())
	work := env.Getenv("WORK")
	ctx, cancel := context.WithTimeout(context.Background(), kubeReadyWait)
	defer cancel()
	namespaces, err := c.newNamespaces(ctx, 3)
	if err != nil {
		return fmt.Errorf("creating the script's namespaces: %w", err)
	}
	env.Setenv("NS", namespaces[0])
	env.Setenv("NS2", namespaces[1])
	env.Setenv("NS3", namespaces[2])
	dir := filepath.Join(work, "kube")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	watch := env.Values[secretWatchKey{}].(*secretWatch)
	for _, user := range kubeUsers {
		path := filepath.Join(dir, user+".yaml")
		// The user's token is in its kubeconfig, by design.
		watch.stores = append(watch.stores, path)
		if err := c.kubeconfig(path, user, namespaces[0]); err != nil {
			return err
		}
		env.Setenv("KUBE_"+strings.ToUpper(user), path)
		env.Setenv("KUBE_TOKEN_"+strings.ToUpper(user), c.tokens[user])
	}
	env.Setenv("KUBECONFIG", filepath.Join(dir, "admin.yaml"))
	env.Setenv("KUBE_SERVER", c.server)
	env.Setenv("KUBE_CA", c.caFile)
	bin, rest, _ := strings.Cut(env.Getenv("PATH"), string(os.PathListSeparator))
	commands, rest, _ := strings.Cut(rest, string(os.PathListSeparator))
	env.Setenv("PATH", strings.Join([]string{bin, commands, c.bin, rest}, string(os.PathListSeparator)))
	return nil
}

// isKubeScript reports whether the script in work needs the API server:
// the secret-*.txt scripts do.
func isKubeScript(work string) bool {
	return strings.HasPrefix(filepath.Base(work), "script-secret-")
}
