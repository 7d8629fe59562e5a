package main

// docker's and crane's habit: `login HOST -u USER --password-stdin` stores
// one credential without a config, and `logout HOST` erases one. The host
// becomes a one-host config in memory, so the same resolver, checks and
// store code run as for a config's hosts.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// parseWithHost parses a command's flags, which may come before or after
// its one optional HOST argument, as docker's do.
func parseWithHost(fs *flag.FlagSet, args []string, text string, stdout io.Writer) (string, error) {
	var positional []string
	for {
		if err := parseFlags(fs, args, text, stdout); err != nil {
			return "", err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case len(positional) == 0:
		return "", nil
	case len(positional) > 1:
		return "", usagef("%s: unexpected argument %q: give one HOST", fs.Name(), positional[1])
	}
	host := positional[0]
	if looksLikeConfig(host) {
		return "", usagef("%s: %q looks like a config file, not a registry host; did you mean -f %s?", fs.Name(), host, host)
	}
	return host, nil
}

// looksLikeConfig reports whether arg, given where a HOST goes, is more
// likely a config file: a YAML name, or a file that exists.
func looksLikeConfig(arg string) bool {
	if strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") || arg == "-" {
		return true
	}
	fi, err := os.Stat(arg)
	return err == nil && fi.Mode().IsRegular()
}

// oneHost is the config of `login HOST` (with the flags' username and
// password) or `logout HOST` / `status HOST` (with none): one host, with
// its credential written as a literal value, as a config would hold it.
func (o *loginOptions) oneHost(stdin io.Reader, stderr io.Writer) (*config, error) {
	switch {
	case o.configPath != "":
		return nil, usagef("give a HOST or -f, not both")
	case len(o.hosts) > 0:
		return nil, usagef("give a HOST or --host, not both")
	case o.helper:
		return nil, usagef("--helper needs a config (-f): the helper resolves its hosts from it at every get")
	}
	o.host = serverHost(o.host)
	if err := checkHostName(o.host); err != nil {
		return nil, usageError{err.Error()}
	}
	dir, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	h := hostConfig{Host: o.host, Username: o.username}
	if o.password != "" || o.passwordStdin {
		password, err := o.readPassword(stdin, stderr)
		if err != nil {
			return nil, err
		}
		h.Credential = &credentialConfig{Value: password}
	}
	return &config{Hosts: []hostConfig{h}, dir: dir}, nil
}

// checkOneHostFlags checks -u, -p and --password-stdin the way docker
// login does: each needs the others, and all of them a HOST.
func (o *loginOptions) checkOneHostFlags() error {
	given := o.username != "" || o.password != "" || o.passwordStdin
	switch {
	case o.host == "" && given:
		return usagef("-u, -p and --password-stdin store one credential: flux-mirror login HOST -u USER --password-stdin")
	case o.host == "":
		return nil
	case o.password != "" && o.passwordStdin:
		return usagef("--password and --password-stdin are mutually exclusive")
	case o.username == "":
		return usagef("login %s needs -u USER, and the password on stdin with --password-stdin", o.host)
	case o.password == "" && !o.passwordStdin:
		return usagef("login %s needs the password: pipe it to --password-stdin (or give -p)", o.host)
	}
	return nil
}

// readPassword is -p's value, with docker's warning, or stdin without
// one final line ending, as docker login --password-stdin reads it.
func (o *loginOptions) readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if !o.passwordStdin {
		// docker/cli cli/command/registry/login.go prints the same.
		fmt.Fprintln(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
		return o.password, nil
	}
	data, err := readAtMost(stdin)
	if err != nil {
		return "", fmt.Errorf("reading the password from stdin: %w", err)
	}
	password := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if password == "" {
		return "", errors.New("the password on stdin is empty")
	}
	return password, nil
}

// serverHost is the registry host that a server address given as HOST
// names, read the way docker login reads its SERVER argument (docker/cli
// GetDefaultAuthConfig and registry.ConvertToHostname): Docker Hub's URL
// https://index.docker.io/v1/ is docker.io; otherwise an http:// or
// https:// scheme and everything from the first / on are dropped, so
// https://ghcr.io and http://localhost:5000/ are ghcr.io and
// localhost:5000. registryKey then gives the key docker writes, except
// that every Docker Hub alias gets Hub's key, which is the one docker
// looks up. What else a URL may hold (another scheme, user@, ?, #) is
// left for checkHostName to refuse. Only HOST is read this way: a
// config's hosts keep the strict host[:port] rule.
func serverHost(server string) string {
	if server == dockerHubKey {
		return "docker.io"
	}
	for _, scheme := range []string{"https://", "http://"} {
		if rest, ok := strings.CutPrefix(server, scheme); ok {
			server = rest
			break
		}
	}
	if strings.Contains(server, "://") {
		return server // another scheme: checkHostName names it
	}
	host, _, _ := strings.Cut(server, "/")
	return host
}
