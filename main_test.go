package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/rogpeppe/go-internal/testscript"
)

// handOffLogEnv names a file the test binary, run as the full binary's
// helper, appends a line to at each run.
const handOffLogEnv = "FLUX_MIRROR_TEST_HANDOFF_LOG"

// update rewrites golden files and the expectations in testscript files
// whose cmp fails: go test -update.
var update = flag.Bool("update", false, "update golden files")

// cleanupAfter runs the tests, then stops or removes what they started
// once for the whole run: the test API server and the small helper's build.
type cleanupAfter struct{ m *testing.M }

func (c cleanupAfter) Run() int {
	defer stopKube()
	defer func() {
		if smallBuild.dir != "" {
			os.RemoveAll(smallBuild.dir)
		}
	}()
	// Tests that let nobody into their folders chmod them: none may touch
	// the machine's temp folder itself (one did, locking apt's _apt user
	// out of a 0755 /tmp).
	before, err := os.Stat(os.TempDir())
	code := c.m.Run()
	if after, err2 := os.Stat(os.TempDir()); err == nil && err2 == nil && after.Mode() != before.Mode() {
		fmt.Fprintf(os.Stderr, "FAIL: the tests changed %s from %v to %v\n", os.TempDir(), before.Mode(), after.Mode())
		return 1
	}
	return code
}

func TestMain(m *testing.M) {
	// Helper mode is picked by the program's name, which testscript.Main
	// would take for a test run: a link named docker-credential-flux-mirror
	// to this binary runs the tool directly.
	if filepath.Base(os.Args[0]) == helperProgram {
		if log := os.Getenv(handOffLogEnv); log != "" {
			// TestSmallHelperHandOff counts the runs of the full binary.
			f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if err == nil {
				fmt.Fprintln(f, strings.Join(os.Args, " "))
				f.Close()
			}
		}
		mainRecordingOutput()
	}
	testscript.Main(cleanupAfter{m}, map[string]func(){
		"flux-mirror": mainRecordingOutput,
		"keychain":    keychainMain,
	})
}

// TestScripts runs testdata/script/*.txt: one behaviour per file, each
// with its own HOME, Docker config folder and environment.
func TestScripts(t *testing.T) {
	runScripts(t, filepath.Join("testdata", "script"), *update)
}

// runScripts runs the scripts of dir in the world setupScript makes, with
// the project's script commands; update rewrites their golden sections.
func runScripts(t *testing.T, dir string, update bool) {
	testscript.Run(t, testscript.Params{
		Dir:                 dir,
		UpdateScripts:       update,
		RequireExplicitExec: true,
		Setup:               setupScript,
		Cmds:                scriptCmds(),
	})
}

// setupScript gives a script a clean world: an empty HOME, a Docker config
// folder of its own, $WORK/bin (for fake helpers) first on a PATH of system
// folders only, and every cloud identity chain pointed away from the
// network so that nothing dials a cloud host or a metadata address.
func setupScript(env *testscript.Env) error {
	work := env.Getenv("WORK")
	home := filepath.Join(work, "home")
	bin := filepath.Join(work, "bin")
	for _, d := range []string{home, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	env.Setenv("HOME", home)
	// os.UserConfigDir and os.UserCacheDir (the helper's registrations and
	// token cache) read these before HOME.
	env.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	env.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	env.Setenv("DOCKER_CONFIG", filepath.Join(work, "docker"))
	// testscript.Main put the folder holding the flux-mirror command first.
	commands, _, _ := strings.Cut(env.Getenv("PATH"), string(os.PathListSeparator))
	env.Setenv("PATH", strings.Join([]string{bin, commands, "/usr/bin", "/bin"}, string(os.PathListSeparator)))
	// A script that needs an exact PATH builds it from $CMDBIN, which holds
	// only flux-mirror.
	env.Setenv("CMDBIN", commands)
	// The helper a script links as docker-credential-flux-mirror: this
	// binary, or the small helper in TestScriptsSmallHelper.
	env.Setenv("HELPERBIN", filepath.Join(commands, "flux-mirror"))
	env.Setenv(outputLogEnv, filepath.Join(work, outputLogName))
	if err := watchForSecrets(env); err != nil {
		return err
	}
	env.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	env.Setenv("AWS_CONFIG_FILE", os.DevNull)
	env.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	env.Setenv("GCE_METADATA_HOST", "127.0.0.1:9")
	env.Setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:9/msi/token")
	env.Setenv("IDENTITY_HEADER", "unused")
	// login warns about DOCKER_AUTH_CONFIG, and --verify trusts
	// SSL_CERT_FILE: a script sets them when it means to.
	env.Setenv("DOCKER_AUTH_CONFIG", "")
	env.Setenv("SSL_CERT_FILE", "")
	// No cluster unless the script is one of secret's, which get the test
	// API server (kube_apiserver_test.go); never the machine's kubeconfig
	// or a Pod's in-cluster config.
	env.Setenv("KUBECONFIG", filepath.Join(work, ".kube", "config"))
	env.Setenv("KUBERNETES_SERVICE_HOST", "")
	env.Setenv("KUBERNETES_SERVICE_PORT", "")
	if isKubeScript(work) {
		return setupKubeScript(env)
	}
	return nil
}

// scriptCmd is a command a script may use beyond testscript's own.
type scriptCmd = func(ts *testscript.TestScript, neg bool, args []string)

// scriptCmds gathers the commands defined by the test files of each concern.
func scriptCmds() map[string]scriptCmd {
	cmds := map[string]scriptCmd{}
	for _, set := range []map[string]scriptCmd{loginCmds, storeCmds, identityFakeCmds, cloudFakeCmds, redactCmds, verifyFakeCmds, kubeCmds} {
		for name, cmd := range set {
			cmds[name] = cmd
		}
	}
	return cmds
}

// loginCmds are script commands for checking login's results.
var loginCmds = map[string]scriptCmd{
	"golden":    cmdGolden,
	"secret":    cmdSecret,
	"jwtclaims": cmdJWTClaims,
	"jsonfield": cmdJSONField,
}

// cmdGolden compares FILE byte for byte with testdata/golden/NAME, or
// rewrites the golden file under go test -update. config.json has no
// trailing newline, which a txtar section cannot express.
//
//	golden FILE NAME
func cmdGolden(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: golden FILE NAME")
	}
	got, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	// go test runs the test binary in the package folder; scripts run
	// elsewhere, but script commands run in the test binary.
	wd, err := os.Getwd()
	ts.Check(err)
	golden := filepath.Join(wd, "testdata", "golden", args[1])
	if *update {
		ts.Check(os.WriteFile(golden, got, 0o644))
		return
	}
	want, err := os.ReadFile(golden)
	ts.Check(err)
	if string(got) != string(want) {
		ts.Fatalf("%s differs from golden %s (go test -update refreshes it):\n%s", args[0], args[1], diffLines(string(want), string(got)))
	}
}

// diffLines shows want and got line by line, marking the lines that differ.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < max(len(w), len(g)); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n\twant %q\n\tgot  %q\n", i+1, wl, gl)
		}
	}
	return b.String()
}

// cmdJWTClaims verifies the registry token stored under KEY in CONFIG with
// the public JWK set PUBKEY and prints iss, sub, aud and the lifetime
// (exp - iat), plus the header's alg and whether kid matches the key's.
//
//	jwtclaims CONFIG KEY PUBKEY
func cmdJWTClaims(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: jwtclaims CONFIG KEY PUBKEY")
	}
	var cfg struct {
		Auths map[string]struct {
			RegistryToken string `json:"registrytoken"`
		} `json:"auths"`
	}
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &cfg))
	token := cfg.Auths[args[1]].RegistryToken
	var set jose.JSONWebKeySet
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[2])), &set))
	if len(set.Keys) != 1 {
		ts.Fatalf("%s: want one key, got %d", args[2], len(set.Keys))
	}
	key := set.Keys[0]
	sig, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256, jose.ES384, jose.ES512})
	ts.Check(err)
	payload, err := sig.Verify(key.Key)
	if err != nil {
		ts.Fatalf("stored token does not verify with %s: %v", args[2], err)
	}
	if h := sig.Signatures[0].Header; h.KeyID != key.KeyID || h.ExtraHeaders["typ"] != "JWT" {
		ts.Fatalf("header kid %q typ %v, want kid %q typ JWT", h.KeyID, h.ExtraHeaders["typ"], key.KeyID)
	}
	var c struct {
		Iss string   `json:"iss"`
		Sub string   `json:"sub"`
		Aud []string `json:"aud"`
		Exp int64    `json:"exp"`
		Iat int64    `json:"iat"`
		Nbf int64    `json:"nbf"`
		Jti string   `json:"jti"`
	}
	ts.Check(json.Unmarshal(payload, &c))
	if c.Nbf != c.Iat-30 || len(c.Jti) != 32 {
		ts.Fatalf("nbf %d (iat %d) and jti %q: want nbf = iat-30 and a 32-hex jti", c.Nbf, c.Iat, c.Jti)
	}
	aud, _ := json.Marshal(c.Aud)
	fmt.Fprintf(ts.Stdout(), "iss=%s sub=%s aud=%s lifetime=%ds\n", c.Iss, c.Sub, aud, c.Exp-c.Iat)
}

// cmdJSONField checks one field of a JSON document: PATH is dot-separated
// keys and array indexes (hosts.0.status); WANT is compared with the
// field's string form ($WORK is expanded by the script).
//
//	jsonfield stdout|FILE PATH WANT
func cmdJSONField(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: jsonfield stdout|FILE PATH WANT")
	}
	var doc any
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &doc))
	v := doc
	for _, k := range strings.Split(args[1], ".") {
		switch node := v.(type) {
		case map[string]any:
			v = node[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(node) {
				ts.Fatalf("%s: no element %s", args[1], k)
			}
			v = node[i]
		default:
			ts.Fatalf("%s: %s is not an object or array", args[1], k)
		}
	}
	got := fmt.Sprint(v)
	if (got == args[2]) == neg {
		ts.Fatalf("%s = %q, want %s%q", args[1], got, map[bool]string{true: "not "}[neg], args[2])
	}
}
