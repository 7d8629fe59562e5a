package main

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"

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
