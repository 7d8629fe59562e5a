// Command flux-mirror logs registry hosts from a flux-mirror config into the
// Docker config, the way `docker login` would.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"
)

const usage = `Usage:
    flux-mirror [--timeout DURATION] [--no-envsubst] login [-f PATH] [--host HOST]... [--docker-config DIR] [--plaintext | --helper] [--verify] [--dry-run] [-o text|json]
    flux-mirror [--timeout DURATION] login HOST -u USER --password-stdin [--docker-config DIR] [--plaintext] [--verify] [--dry-run] [-o text|json]
    flux-mirror [--timeout DURATION] [--no-envsubst] logout [-f PATH] [--host HOST]... [--docker-config DIR] [-o text|json]
    flux-mirror logout HOST [--docker-config DIR] [-o text|json]
    flux-mirror [--timeout DURATION] [--no-envsubst] status [-f PATH] [--host HOST]... [--docker-config DIR] [--check] [--min-valid DURATION] [-o text|json]
    flux-mirror [--timeout DURATION] [--no-envsubst] secret NAME [-f PATH] [--host HOST]... [-n NAMESPACE]... [flags]
    flux-mirror keygen [--output-dir DIR]
    flux-mirror kubelet-credential-provider [-f PATH] [--print-config --bin-dir DIR]
    flux-mirror completion bash|zsh|fish
    flux-mirror version | --version

Commands:
    login       Resolve the credentials of the config's hosts and store them in the Docker config.
    logout      Erase what login stored for the config's hosts.
    status      Show where each host's credential is now, its expiry and what shadows it.
    secret      Write the hosts' credentials into a Kubernetes pull Secret, kept fresh.
    keygen      Write a fresh Ed25519 key pair (privkey.json, pubkey.json) for jwkPath.
    kubelet-credential-provider  Answer the kubelet's image credential requests from the config.
    completion  Print a bash, zsh or fish completion script.
    version     Print the version.
    help        Print this help.

Global options (before or after the command):
    --timeout DURATION  Bound credential resolution and helper calls. Default: 1m.
    --no-envsubst       Read ${VAR} in the config literally instead of substituting it.

Run "flux-mirror help <command>" (or "flux-mirror <command> -h") for a command's options.

Example:
    $ flux-mirror keygen --output-dir keys
    $ flux-mirror login -f flux-mirror.yaml --docker-config ./docker
    ✔ stored registry token for registry.example.com in docker/config.json (expires in 1m)
    $ echo "$GH_TOKEN" | flux-mirror login ghcr.io -u flux --password-stdin`

const helperUsage = `Usage:
    docker-credential-flux-mirror get|store|erase|list|version

The Docker credential helper that "flux-mirror login --helper" names in
config.json. Docker runs it with a verb and writes the server URL (or, for
store, a JSON credential) on its stdin, per the docker-credential-helpers
protocol. get resolves the host's credential from the config login
--helper registered for it, minting a fresh one when its source mints; it
writes {"ServerURL", "Username", "Secret"} on stdout.

Environment:
    FLUX_MIRROR_CONFIG   The config to read, before the ones login --helper registered.
    FLUX_MIRROR_TIMEOUT  Bound each get (a Go duration). Default: 30s.

Example:
    $ echo ghcr.io | docker-credential-flux-mirror get`

const loginUsage = `Usage:
    flux-mirror login [-f PATH] [--host HOST]... [--docker-config DIR] [--plaintext | --helper] [--verify] [--dry-run] [-o text|json]
    flux-mirror login HOST -u USER --password-stdin [--docker-config DIR] [--plaintext] [--verify] [--dry-run] [-o text|json]

Resolve the credential of every host in the config (or of each --host, in
that order) and store it in the Docker config the way "docker login" does:
through the configured or auto-detected credential helper, else base64 in
config.json. A host without a username is stored as a bearer registrytoken,
always in config.json. Nothing is written unless every host resolved.
An entry config.json already holds is left as it is ("unchanged"); a
credential given to a helper is read back with its get.

With a HOST instead of a config, store that one username and password, as
"docker login HOST" and "crane auth login HOST" do, through the same checks.

Options:
    -f, --config PATH       Config file, or - for stdin.
                            Default: $FLUX_MIRROR_CONFIG, else <executable>.config.
    --host HOST             Log in to this host only; repeatable. Default: all hosts.
    --docker-config DIR     Docker config directory. Default: $DOCKER_CONFIG, else ~/.docker.
    --plaintext             Store username/password in config.json, bypassing credential helpers.
    --verify                Authenticate each credential against its registry first, as
                            docker login does; a refused host fails and nothing is written.
    --helper                Store no secret: make flux-mirror the hosts' credential helper
                            (credHelpers), minting a fresh credential at every docker get.
                            Needs docker-credential-flux-mirror on PATH and a username per host.
    --dry-run               Resolve every credential and show what would be stored where, with
                            the JWT claims and a fingerprint of each secret; write nothing.
    -o, --output FORMAT     text (default) or json (one document; schema in docs/login.md).
    -u, --username USER     With HOST: the username.
    --password-stdin        With HOST: read the password from stdin (one final newline is dropped).
    -p, --password PASS     With HOST: the password; other users can read it in the process
                            list, so prefer --password-stdin.

Example:
    $ flux-mirror login -f hosts.yaml --host ghcr.io
    ✔ stored credential for ghcr.io via the "pass" credential helper
    $ echo "$GH_TOKEN" | flux-mirror login ghcr.io -u flux --password-stdin
    ✔ stored credential for ghcr.io via the "pass" credential helper`

const logoutUsage = `Usage:
    flux-mirror logout [-f PATH] [--host HOST]... [--docker-config DIR] [-o text|json]
    flux-mirror logout HOST [--docker-config DIR] [-o text|json]

Erase the credential of every host in the config (or of each --host, or
of HOST) from the credential helper that holds it and from config.json. A
host with nothing stored is reported, not an error. No secret of the
config is needed: its variables are substituted for host names and
usernames only.

Options:
    -f, --config PATH       Config file, or - for stdin.
                            Default: $FLUX_MIRROR_CONFIG, else <executable>.config.
    --host HOST             Log out of this host only; repeatable. Default: all hosts.
    --docker-config DIR     Docker config directory. Default: $DOCKER_CONFIG, else ~/.docker.
    -o, --output FORMAT     text (default) or json.

Example:
    $ flux-mirror logout -f hosts.yaml --host ghcr.io
    ✔ erased credential for ghcr.io via the "pass" credential helper`

const keygenUsage = `Usage:
    flux-mirror keygen [--output-dir DIR]

Write a fresh Ed25519 key pair as single-key JWK sets: DIR/privkey.json
(0600, for jwkPath) and DIR/pubkey.json (0644, for the registry). Refuses to
overwrite either file.

Options:
    -o, --output-dir DIR    Directory to write to, created if missing. Default: .
                            Unlike other commands' -o, keygen's is a folder, not a format
                            (kept so that existing scripts work): -o text or -o json is refused.

Example:
    $ flux-mirror keygen --output-dir keys
    ✔ private key set written to: keys/privkey.json
    ✔ public key set written to: keys/pubkey.json`

func main() {
	// A run lasts milliseconds. With Go's default GOGC the collector
	// would start mid-login to reclaim a few MB that exit reclaims anyway,
	// marking the whole heap the dependencies built at init, which the
	// per-run budget of bench/README.md cannot afford. At
	// 400 the heap may grow to five times its live size first, which a
	// config of thousands of hosts still keeps to tens of MB. A GOGC set
	// by the user wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	os.Exit(runAs(os.Args[0], os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// runAs is run, unless the program runs as docker-credential-flux-mirror
// (a link to this binary, which is how docker finds a credential helper):
// then it speaks the credential helper protocol instead.
func runAs(argv0 string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if strings.TrimSuffix(filepath.Base(argv0), ".exe") == helperProgram {
		if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			// docker never sends these; a person trying the helper does.
			fmt.Fprintln(stdout, helperUsage)
			return 0
		}
		return runCredentialHelper(args, osHelperEnv(), stdin, stdout, stderr)
	}
	return run(args, stdin, stdout, stderr)
}

// globalOptions are the flags accepted before or after the command name.
type globalOptions struct {
	timeout    time.Duration
	noEnvsubst bool
}

// usageError is a command line the tool cannot run: exit code 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return usageError{fmt.Sprintf(format, args...)}
}

// run is the whole program: it parses args, runs a command, prints any
// error with the ✗ mark and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := runCommand(args, stdin, stdout, stderr)
	var uerr usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &uerr):
		fmt.Fprintf(stderr, "✗ %s\n", err)
		fmt.Fprintln(stderr, `Run "flux-mirror help" for usage.`)
		return 2
	case errors.Is(err, errReported):
		return 1
	default:
		// A config or store error can quote a parser's or a file's text:
		// it passes the rule of redact.go, as a host's error does.
		fmt.Fprintf(stderr, "✗ %s\n", redactForeign(err.Error(), os.Environ()))
		return 1
	}
}

// errReported is returned by a command that has already printed its
// failures and only needs the exit code set.
var errReported = errors.New("failures reported")

func runCommand(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	g := globalOptions{timeout: time.Minute}
	// Global flags may come before the command name; flag parsing stops at
	// the first argument that is not a flag, the command.
	global := flag.NewFlagSet("flux-mirror", flag.ContinueOnError)
	g.register(global)
	showVersion := global.Bool("version", false, "")
	if err := parseFlags(global, args, usage, stdout); err != nil {
		return err
	}
	args = global.Args()
	if *showVersion {
		// --version, as docker and most CLIs take it, is the version command.
		args = []string{"version"}
	}
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return usagef("no command given")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "login":
		return runLogin(g, args, stdin, stdout, stderr)
	case "logout":
		return runLogout(g, args, stdin, stdout, stderr)
	case "status":
		return runStatus(g, args, stdin, stdout, stderr)
	case "secret":
		return runSecret(g, args, stdin, stdout, stderr)
	case "keygen":
		return runKeygen(args, stdout)
	case "kubelet-credential-provider":
		return runKubeletProvider(g, args, stdin, stdout, stderr)
	case "version":
		fs := flag.NewFlagSet("version", flag.ContinueOnError)
		if err := parseCommand(fs, args, "Usage:\n    flux-mirror version", stdout); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "flux-mirror", version())
		return nil
	case "help":
		return runHelp(args, stdout)
	case "completion":
		return runCompletion(args, stdout)
	case completeCommand:
		return runComplete(g, args, stdout)
	default:
		return usagef("unknown command %q", cmd)
	}
}

func runHelp(args []string, stdout io.Writer) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
		args = nil
	}
	if len(args) > 1 {
		return usagef("help takes at most one command")
	}
	text := usage
	if len(args) == 1 {
		switch args[0] {
		case "login":
			text = loginUsage
		case "logout":
			text = logoutUsage
		case "status":
			text = statusUsage
		case "secret":
			text = secretUsage
		case "keygen":
			text = keygenUsage
		case "kubelet-credential-provider":
			text = kubeletUsage
		case "completion":
			text = completionUsage
		case "version", "help":
		default:
			return usagef("unknown command %q", args[0])
		}
	}
	fmt.Fprintln(stdout, text)
	return nil
}

// register adds the global flags to a command's FlagSet too, keeping any
// value already given before the command name.
func (g *globalOptions) register(fs *flag.FlagSet) {
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "")
	fs.BoolVar(&g.noEnvsubst, "no-envsubst", g.noEnvsubst, "")
}

// check validates the global flags once every flag has been parsed.
func (g *globalOptions) check() error {
	if g.timeout <= 0 {
		return usagef("--timeout must be greater than 0")
	}
	return nil
}

// parseFlags parses args into fs. -h prints the hand-written text to
// stdout and returns flag.ErrHelp; any other parse error is a usage error.
func parseFlags(fs *flag.FlagSet, args []string, text string, stdout io.Writer) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stdout, text)
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

// parseCommand parses a command's flags. No command takes positional
// arguments, so any argument left over is a usage error.
func parseCommand(fs *flag.FlagSet, args []string, text string, stdout io.Writer) error {
	if err := parseFlags(fs, args, text, stdout); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// stringsFlag is a repeatable string flag that keeps the order given.
type stringsFlag []string

func (f *stringsFlag) String() string     { return strings.Join(*f, ",") }
func (f *stringsFlag) Set(v string) error { *f = append(*f, v); return nil }

// version is the module version from the build info, unless the linker set
// versionOverride with -ldflags "-X main.versionOverride=v1.2.3".
func version() string {
	if versionOverride != "" {
		return versionOverride
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// versionOverride is set at link time; it is never assigned at run time.
var versionOverride string
