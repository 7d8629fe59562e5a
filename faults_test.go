//go:build unix

package main

// Fault tests: real flux-mirror processes killed in the middle of a write,
// refused their folder or their rename, stuck on a credential helper,
// racing each other for one Docker config, and finding what a dead run left
// behind. dockerwrite_test.go proves the same mechanisms inside one
// process; these prove them where they matter, across processes and
// signals. The processes run the test binary as flux-mirror, which
// testscript.Main (TestMain) put on PATH.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// faultWorld is a hermetic world for flux-mirror processes: a Docker config
// folder, a bin folder for fake helpers, and the whole environment each
// process gets; nothing is inherited from the test's own environment.
type faultWorld struct {
	t      *testing.T
	exe    string
	root   string
	docker string // the Docker config folder
	bin    string
	env    []string
}

func newFaultWorld(t *testing.T) *faultWorld {
	t.Helper()
	exe, err := exec.LookPath("flux-mirror")
	if err != nil {
		t.Fatalf("flux-mirror is not on PATH (testscript.Main puts it there): %v", err)
	}
	root := t.TempDir()
	w := &faultWorld{
		t:      t,
		exe:    exe,
		root:   root,
		docker: filepath.Join(root, "docker"),
		bin:    filepath.Join(root, "bin"),
	}
	for _, d := range []string{w.docker, w.bin, filepath.Join(root, "home")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	w.env = []string{
		"HOME=" + filepath.Join(root, "home"),
		"DOCKER_CONFIG=" + w.docker,
		"PATH=" + w.bin + ":/usr/bin:/bin",
	}
	return w
}

// configPath is the config.json the processes write.
func (w *faultWorld) configPath() string {
	return filepath.Join(w.docker, configFileName)
}

// writeHosts writes the flux-mirror config every login reads.
func (w *faultWorld) writeHosts(content string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.root, "hosts.yaml"), []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// readConfig is config.json's content.
func (w *faultWorld) readConfig() []byte {
	w.t.Helper()
	data, err := os.ReadFile(w.configPath())
	if err != nil {
		w.t.Fatal(err)
	}
	return data
}

// login is a `flux-mirror login -f hosts.yaml` process with the world's
// environment plus env, not yet started, and the files its stdout and
// stderr go to.
func (w *faultWorld) login(env []string, args ...string) (cmd *exec.Cmd, stdout, stderr *outputFile) {
	w.t.Helper()
	cmd = exec.Command(w.exe, append([]string{"login", "-f", "hosts.yaml"}, args...)...)
	cmd.Dir = w.root
	cmd.Env = append(slices.Clone(w.env), env...)
	stdout, stderr = w.outputFile(), w.outputFile()
	cmd.Stdout, cmd.Stderr = stdout.f, stderr.f
	return cmd, stdout, stderr
}

// outputFile is a file a process writes its stdout or stderr to: a file,
// not a pipe, because a helper's child that inherits it and lives on, as
// in some tests here, would keep the test waiting for a pipe to close.
type outputFile struct {
	t *testing.T
	f *os.File
}

func (w *faultWorld) outputFile() *outputFile {
	w.t.Helper()
	f, err := os.CreateTemp(w.root, "output-*")
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { f.Close() })
	return &outputFile{w.t, f}
}

// String is what has been written to the file.
func (o *outputFile) String() string {
	o.t.Helper()
	data, err := os.ReadFile(o.f.Name())
	if err != nil {
		o.t.Fatal(err)
	}
	return string(data)
}

// background is a started process; exited is closed once it has been
// waited for, with its result in err.
type background struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error
}

// startBackground starts cmd; the process is killed, if still running,
// when the test ends.
func startBackground(t *testing.T, cmd *exec.Cmd) *background {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	b := &background{cmd: cmd, exited: make(chan struct{})}
	go func() {
		b.err = cmd.Wait()
		close(b.exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-b.exited
	})
	return b
}

// killedBySIGKILL reports whether a process's Wait error says SIGKILL
// ended it.
func killedBySIGKILL(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
}

// tokenHosts is a hosts.yaml whose hosts each store ${TOKEN} as a registry
// token.
func tokenHosts(hosts ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nhosts:\n")
	for _, h := range hosts {
		fmt.Fprintf(&b, "  - host: %s\n    credential:\n      value: ${TOKEN}\n", h)
	}
	return b.String()
}

// exitCode is the exit code of a process that has been waited for.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee) && ee.Exited():
		return ee.ExitCode()
	}
	t.Fatalf("flux-mirror did not exit: %v", err)
	return -1
}

// redact is out with every secret replaced, for a failure message.
func redact(out string, secrets ...string) string {
	for _, s := range secrets {
		out = strings.ReplaceAll(out, s, "<secret>")
	}
	return out
}

// configWithAuths is config.json holding auths, byte for byte as docker
// and flux-mirror write it: tab-indented, keys sorted, no final newline.
func configWithAuths(t *testing.T, auths map[string]map[string]string) []byte {
	t.Helper()
	data, err := json.MarshalIndent(map[string]any{"auths": auths}, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// tempFiles is the set of files in dir named config.json-something, other
// than the lock file: temp files, whatever their naming.
func tempFiles(t *testing.T, dir string) map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, configFileName) && name != configFileName && name != configFileName+".lock" {
			names[name] = true
		}
	}
	return names
}

// newTempFile reports whether dir holds a temp file that is not in before.
func newTempFile(t *testing.T, dir string, before map[string]bool) bool {
	t.Helper()
	for name := range tempFiles(t, dir) {
		if !before[name] {
			return true
		}
	}
	return false
}

// TestKilledWhileWriting kills login with SIGKILL while it writes a large
// config.json, again and again. After each kill config.json is exactly the
// old file or exactly the new one, never a part; the temp files and the
// lock file the dead runs leave do not stop the next run.
func TestKilledWhileWriting(t *testing.T) {
	w := newFaultWorld(t)
	// 5000 entries make a file of about 300 KB: writing and syncing it
	// takes long enough for a kill to land in the middle.
	auths := map[string]map[string]string{}
	userPass := base64.StdEncoding.EncodeToString([]byte("robot:static-password"))
	for i := range 5000 {
		auths[fmt.Sprintf("reg%04d.example.com", i)] = map[string]string{"auth": userPass}
	}
	writeConfig(t, w.docker, string(configWithAuths(t, auths)))
	// What a killed docker login leaves: its temp file, named by
	// configfile.Save as config.json plus digits, half written.
	if err := os.WriteFile(filepath.Join(w.docker, "config.json4242"), []byte(`{"auths": {"reg`), 0o600); err != nil {
		t.Fatal(err)
	}
	w.writeHosts(tokenHosts("new.example.com"))

	// The write window runs from the temp file's creation to its rename;
	// a first, whole run measures it.
	token := func(i int) string { return fmt.Sprintf("killed-%02d-s3cret", i) }
	want := func(i int) []byte {
		auths["new.example.com"] = map[string]string{"registrytoken": token(i)}
		defer delete(auths, "new.example.com")
		return configWithAuths(t, auths)
	}
	window, killed := runKilledInWrite(t, w, token(0), time.Hour)
	if killed {
		t.Fatal("the measuring run was killed")
	}
	if got := w.readConfig(); !bytes.Equal(got, want(0)) {
		t.Fatalf("after a whole run config.json (%d bytes) is not the expected file (%d bytes)", len(got), len(want(0)))
	}
	old := want(0)

	// Each round kills after a delay drawn below window, once the temp
	// file has appeared. On a busy machine the measuring run's window can
	// be far longer than later writes (a slow fsync, or the test itself
	// waiting for a core between two looks), and the kill timer fires
	// late: with the window measured once, every kill could land after
	// the rename, and the test proved nothing by chance. So a round whose
	// kill did not land mid-write, showing the write took less than its
	// delay, draws the next delays below that delay; a mid-write kill lets
	// the window grow back, up to the measured one, so that kills still
	// fall across the whole write. Rounds go on past the first 40 until
	// minMidWrite kills have landed mid-write. The seed is logged so that
	// a failing sequence of delays can be replayed.
	const rounds, maxRounds, minMidWrite = 40, 200, 5
	measured := window
	seed := uint64(time.Now().UnixNano())
	t.Logf("write window %v; delay seed %d", window, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	var ran, keptOld, gotNew, midWrite int
	for ran < rounds || midWrite < minMidWrite && ran < maxRounds {
		ran++
		i := ran
		before := tempFiles(t, w.docker)
		delay := time.Duration(rng.Int64N(int64(window) + 1))
		_, killed := runKilledInWrite(t, w, token(i), delay)
		got := w.readConfig()
		switch {
		case bytes.Equal(got, old):
			keptOld++
		case bytes.Equal(got, want(i)):
			gotNew++
			old = got
		default:
			// Neither: the sizes say how, without printing secrets.
			t.Fatalf("round %d (killed %v after the temp file appeared): config.json has %d bytes, neither the old file (%d) nor the new one (%d)", i, delay, len(got), len(old), len(want(i)))
		}
		if killed && newTempFile(t, w.docker, before) {
			midWrite++
			window = min(measured, max(2*window, time.Millisecond))
		} else {
			window = delay
		}
	}
	t.Logf("%d rounds: %d kept the old file, %d have the new one, %d killed between the temp file and the rename", ran, keptOld, gotNew, midWrite)
	if midWrite < minMidWrite {
		t.Errorf("only %d kills in %d rounds landed between the temp file's creation and the rename, want %d: the test proved too little", midWrite, ran, minMidWrite)
	}

	// A whole run after all those deaths: the lock is free and the
	// leftover temp files are in nobody's way. Its token is none of the
	// rounds'.
	last := ran + 1
	cmd, stdout, stderr := w.login([]string{"TOKEN=" + token(last)})
	if code := exitCode(t, cmd.Run()); code != 0 {
		t.Fatalf("login after the kills: exit %d, stderr %q", code, redact(stderr.String(), token(last)))
	}
	if got := w.readConfig(); !bytes.Equal(got, want(last)) {
		t.Errorf("after the kills a whole run wrote %d bytes, want %d", len(got), len(want(last)))
	}
	if want := "✔ stored registry token for new.example.com in " + w.configPath() + "\n"; stdout.String() != want {
		t.Errorf("stdout %q, want %q", redact(stdout.String(), token(last)), want)
	}
	// The temp files of the killed runs held their tokens; the whole run
	// removed them, so only config.json holds a token now.
	var secrets []string
	for i := range last + 1 {
		secrets = append(secrets, token(i))
	}
	checkNoSecrets(t, secrets, w.root, nil, stdout.String(), stderr.String())
}

// runKilledInWrite runs a login storing token, waits for its temp file to
// appear beside config.json, then kills it with SIGKILL after delay, unless
// it has exited by then. It returns how long the temp file was seen to
// live (until the rename, or until the process ended if it was not seen to
// go) and whether the process was killed.
func runKilledInWrite(t *testing.T, w *faultWorld, token string, delay time.Duration) (time.Duration, bool) {
	t.Helper()
	before := tempFiles(t, w.docker)
	cmd, stdout, stderr := w.login([]string{"TOKEN=" + token})
	login := startBackground(t, cmd)
	// Poll for the temp file often: the write lasts a few milliseconds.
	// A busy machine may run the whole write between two looks; the login
	// then simply ends.
	exited := false
	for !exited && !newTempFile(t, w.docker, before) {
		select {
		case <-login.exited:
			exited = true
		case <-time.After(200 * time.Microsecond):
		}
	}
	seen := time.Now()
	kill := time.After(delay)
	// The temp file's life, not the process's, is the write window: what
	// follows the rename (printing, exiting, the race detector's report)
	// may take far longer on a busy machine.
	var lived time.Duration
	for !exited {
		select {
		case <-login.exited:
			exited = true
		case <-kill:
			cmd.Process.Signal(syscall.SIGKILL)
			<-login.exited
			exited = true
		case <-time.After(200 * time.Microsecond):
			if lived == 0 && !newTempFile(t, w.docker, before) {
				lived = time.Since(seen)
			}
		}
	}
	if lived == 0 {
		lived = time.Since(seen)
	}
	killed := killedBySIGKILL(login.err)
	if login.err != nil && !killed {
		t.Fatalf("login: %v, stderr %q", login.err, redact(stderr.String(), token))
	}
	// Only the outputs: a run killed mid-write leaves its temp file, with
	// the token, for the next run to remove.
	checkNoSecrets(t, []string{token}, "", nil, stdout.String(), stderr.String())
	return lived, killed
}

// TestHangingHelperBounded runs a credential helper that never answers, or
// whose child keeps its stdout open: --timeout 2s ends the login within
// seconds, not when the helper's minute of sleep is over.
func TestHangingHelperBounded(t *testing.T) {
	const secret = "hanging-s3cret"
	for _, tc := range []struct {
		name string
		// body is the helper's script; $PIDFILE is where a helper that
		// leaves a child behind writes the child's pid.
		body   string
		code   int
		stdout string
		stderr string // a regexp for the whole of stderr
	}{
		{
			name:   "never answers",
			body:   "exec sleep 60",
			code:   1,
			stderr: `^✗ host "ghcr.io": not stored within --timeout 2s: docker-credential-fake store: context deadline exceeded\n$`,
		},
		{
			// At the deadline the helper's process group is killed, the
			// child with it (TestKilledHelperTakesItsChildren); a child
			// that escaped the group would still hold the stdout pipe,
			// and exec.Cmd.WaitDelay stops waiting for it.
			name:   "killed, its child keeps stdout open",
			body:   `sleep 60 & echo $! > "$PIDFILE"; wait`,
			code:   1,
			stderr: `^✗ host "ghcr.io": not stored within --timeout 2s: docker-credential-fake store: context deadline exceeded\n$`,
		},
		{
			// A helper that stored and exited 0 has succeeded, whatever
			// it left running with its stdout (an agent it started, say).
			name:   "exits 0, its child keeps stdout open",
			body:   `cat > /dev/null; [ "$1" = get ] && { printf '{"Username":"robot","Secret":"%s"}' "$TOKEN"; exit 0; }; sleep 60 & echo $! > "$PIDFILE"; exit 0`,
			code:   0,
			stdout: "✔ stored credential for ghcr.io via the \"fake\" credential helper\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Each waits out its --timeout: together, not one after another.
			t.Parallel()
			w := newFaultWorld(t)
			pidFile := filepath.Join(w.root, "child.pid")
			t.Cleanup(func() { killChild(t, pidFile) })
			fakeProgram(t, w.bin, "docker-credential-fake", "PIDFILE='"+pidFile+"'\n"+tc.body)
			original := "{\"auths\": {}, \"credsStore\": \"fake\"}\n"
			writeConfig(t, w.docker, original)
			w.writeHosts("apiVersion: mirror.plugin.fluxcd.io/v1beta1\nkind: Config\nhosts:\n  - host: ghcr.io\n    username: robot\n    credential:\n      value: ${TOKEN}\n")

			cmd, stdout, stderr := w.login([]string{"TOKEN=" + secret}, "--timeout", "2s")
			start := time.Now()
			code := exitCode(t, cmd.Run())
			// Generous: the helper sleeps a minute.
			if took := time.Since(start); took > 20*time.Second {
				t.Errorf("login took %v with --timeout 2s", took)
			}
			checkNoSecrets(t, []string{secret}, w.root, nil, stdout.String(), stderr.String())
			if code != tc.code {
				t.Errorf("exit code %d, want %d", code, tc.code)
			}
			if stdout.String() != tc.stdout {
				t.Errorf("stdout %q, want %q", redact(stdout.String(), secret), tc.stdout)
			}
			if tc.stderr == "" && stderr.String() != "" || tc.stderr != "" && !regexp.MustCompile(tc.stderr).MatchString(stderr.String()) {
				t.Errorf("stderr %q, want %s", redact(stderr.String(), secret), tc.stderr)
			}
			got := string(w.readConfig())
			switch {
			case tc.code != 0 && got != original:
				t.Errorf("config.json changed to %q", redact(got, secret))
			case tc.code == 0 && got != "{\n\t\"auths\": {\n\t\t\"ghcr.io\": {}\n\t},\n\t\"credHelpers\": {\n\t\t\"ghcr.io\": \"fake\"\n\t},\n\t\"credsStore\": \"fake\"\n}":
				t.Errorf("config.json is %q, want the helper's empty entry for ghcr.io", redact(got, secret))
			}
			if left := tempFiles(t, w.docker); len(left) > 0 {
				t.Errorf("temp files left: %v", slices.Sorted(maps.Keys(left)))
			}
		})
	}
}

// killChild kills the process whose pid a fake helper wrote to pidFile: a
// sleep it left running, which the test started and so must end.
func killChild(t *testing.T, pidFile string) {
	data, err := os.ReadFile(pidFile)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	var pid int
	if _, err := fmt.Sscan(string(data), &pid); err != nil || pid <= 1 {
		t.Errorf("%s: no pid in %q", pidFile, data)
		return
	}
	// ESRCH: it has ended already.
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
		t.Errorf("killing the helper's child %d: %v", pid, err)
	}
}
