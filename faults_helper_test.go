//go:build unix

package main

// Fault tests (see faults_test.go) of a credential helper's bounds: its
// output, its children at the deadline, and --timeout per call.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// processGone reports whether the process pid has ended: it no longer
// exists, or it is a zombie waiting for its new parent to reap it.
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return os.IsNotExist(err)
	}
	// pid (comm) state ...: the state follows the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// TestKilledHelperTakesItsChildren runs a helper that starts a child and
// hangs: at the --timeout deadline the helper's whole process group is
// killed, the child with it.
func TestKilledHelperTakesItsChildren(t *testing.T) {
	const secret = "children-s3cret"
	w := newFaultWorld(t)
	pidFile := filepath.Join(w.root, "child.pid")
	t.Cleanup(func() { killChild(t, pidFile) })
	fakeProgram(t, w.bin, "docker-credential-fake", `sleep 60 & echo $! > '`+pidFile+`'; wait`)
	writeConfig(t, w.docker, `{"auths": {}, "credsStore": "fake"}`)
	w.writeHosts("apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nhosts:\n  - host: ghcr.io\n    username: robot\n    credential:\n      value: ${TOKEN}\n")

	cmd, stdout, stderr := w.login([]string{"TOKEN=" + secret}, "--timeout", "1s")
	code := waitExited(t, startBackground(t, cmd), "login")
	checkNoSecrets(t, []string{secret}, w.root, nil, stdout.String(), stderr.String())
	if want := "✗ host \"ghcr.io\": not stored within --timeout 1s: docker-credential-fake store: context deadline exceeded\n"; code != 1 || stderr.String() != want {
		t.Errorf("exit %d, stderr %q; want 1 and %q", code, stderr.String(), want)
	}
	var pid int
	if data, err := os.ReadFile(pidFile); err != nil {
		t.Fatal(err)
	} else if _, err := fmt.Sscan(string(data), &pid); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); !processGone(pid); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the helper's child %d still runs 5s after login ended", pid)
		}
	}
}

// TestHelperOutputBounded runs helpers whose answer has no end, or is a
// megabyte: login keeps at most 64 KiB of it, stops the helper at once,
// and says so instead of printing the answer.
func TestHelperOutputBounded(t *testing.T) {
	const secret = "bounded-s3cret"
	for _, tc := range []struct {
		name, body string
	}{
		{"endless", "exec yes"},
		{"a megabyte, then failure", "head -c 1048576 /dev/zero | tr '\\0' x; exit 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newFaultWorld(t)
			fakeProgram(t, w.bin, "docker-credential-loud", tc.body)
			const original = `{"auths": {}, "credsStore": "loud"}`
			writeConfig(t, w.docker, original)
			w.writeHosts("apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nhosts:\n  - host: ghcr.io\n    username: robot\n    credential:\n      value: ${TOKEN}\n")

			// A long --timeout: the bound, not the deadline, must end it.
			cmd, stdout, stderr := w.login([]string{"TOKEN=" + secret}, "--timeout", "1m")
			start := time.Now()
			code := waitExited(t, startBackground(t, cmd), "login")
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("login took %v", took)
			}
			checkNoSecrets(t, []string{secret}, w.root, nil, stdout.String(), stderr.String())
			want := "✗ host \"ghcr.io\": docker-credential-loud store: output too large (more than 64 KiB)\n"
			if code != 1 || stderr.String() != want {
				t.Errorf("exit %d, stderr (%d bytes) %q; want 1 and %q", code, len(stderr.String()), stderr.String()[:min(200, len(stderr.String()))], want)
			}
			if got := string(w.readConfig()); got != original {
				t.Errorf("config.json changed")
			}
		})
	}
}

// TestTimeoutPerHelperCall stores three hosts through a helper that takes
// a second each: --timeout 2s bounds each call, not the three together,
// so all three are stored.
func TestTimeoutPerHelperCall(t *testing.T) {
	const secret = "percall-s3cret"
	w := newFaultWorld(t)
	rec := filepath.Join(w.root, "slow.calls")
	// get answers with what login stored, so that its read back passes.
	fakeProgram(t, w.bin, "docker-credential-slow", `cat > /dev/null; sleep 1; echo "$1" >> '`+rec+`'
[ "$1" = get ] && printf '{"Username":"robot","Secret":"%s"}' "$TOKEN"
exit 0`)
	writeConfig(t, w.docker, `{"auths": {}, "credsStore": "slow"}`)
	var hosts strings.Builder
	hosts.WriteString("apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nhosts:\n")
	for _, h := range []string{"one.example.com", "two.example.com", "three.example.com"} {
		fmt.Fprintf(&hosts, "  - host: %s\n    username: robot\n    credential:\n      value: ${TOKEN}\n", h)
	}
	w.writeHosts(hosts.String())

	cmd, stdout, stderr := w.login([]string{"TOKEN=" + secret}, "--timeout", "2s")
	code := waitExited(t, startBackground(t, cmd), "login")
	checkNoSecrets(t, []string{secret}, w.root, nil, stdout.String(), stderr.String())
	if code != 0 || stderr.String() != "" {
		t.Errorf("exit %d, stderr %q; want 0 and nothing", code, stderr.String())
	}
	if n := strings.Count(stdout.String(), "✔ stored credential for "); n != 3 {
		t.Errorf("%d hosts stored, want 3; stdout %q", n, stdout.String())
	}
}
