package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// completeCommand is the hidden command shells and the Flux CLI run to
// complete a command line: "flux-mirror __complete ARGS... TOCOMPLETE"
// prints the candidates one a line, each optionally followed by a tab and
// a description, then ":DIRECTIVE". This is cobra's protocol, which flux
// reads from a plugin (fluxcd/flux2 internal/plugin/completion.go); we
// speak it without cobra.
const completeCommand = "__complete"

// Completion directives, a bit set (cobra's ShellCompDirective).
const (
	directiveDefault    = 0  // the shell may complete file names
	directiveNoFileComp = 4  // offer the candidates only
	directiveFilterDirs = 16 // complete folder names only
)

// commandFlags returns the FlagSet a command parses, built by the same
// function the command uses, or nil for a command without flags. It is the
// one table completion reads: a flag added to a command's FlagSet
// completes with no change here; a new command needs one case.
func commandFlags(cmd string) *flag.FlagSet {
	g := globalOptions{timeout: time.Minute}
	switch cmd {
	case "login":
		return loginFlags(&loginOptions{global: g})
	case "logout", "status":
		return hostFlags(cmd, &loginOptions{global: g})
	case "keygen":
		var dir string
		return keygenFlags(&dir)
	}
	if c, ok := findClusterCommand(cmd); ok {
		return c.flags(g)
	}
	return nil
}

// globalFlags is the FlagSet of the flags given before the command name.
func globalFlags() *flag.FlagSet {
	g := globalOptions{timeout: time.Minute}
	fs := flag.NewFlagSet("flux-mirror", flag.ContinueOnError)
	g.register(fs)
	return fs
}

// commandHelp returns a command's help text, "" for an unknown command.
func commandHelp(cmd string) string {
	var b bytes.Buffer
	if cmd == "" {
		return usage
	}
	if err := runHelp([]string{cmd}, &b); err != nil {
		return ""
	}
	return b.String()
}

// candidate is one completion: a word and an optional description.
type candidate struct{ word, desc string }

func runComplete(_ globalOptions, args []string, stdout io.Writer) error {
	writeCompletions(stdout, args, os.Getenv, os.Executable)
	return nil
}

// writeCompletions prints the candidates for the last of args, then the
// directive line.
func writeCompletions(stdout io.Writer, args []string, getenv func(string) string, executable func() (string, error)) {
	if len(args) == 0 {
		args = []string{""}
	}
	cands, directive := complete(args[:len(args)-1], args[len(args)-1], getenv, executable)
	for _, c := range cands {
		if c.desc != "" {
			fmt.Fprintf(stdout, "%s\t%s\n", c.word, c.desc)
		} else {
			fmt.Fprintln(stdout, c.word)
		}
	}
	fmt.Fprintf(stdout, ":%d\n", directive)
}

// complete returns the candidates for toComplete, the word being typed
// after the words args, and the directive for the shell.
func complete(args []string, toComplete string, getenv func(string) string, executable func() (string, error)) ([]candidate, int) {
	// Walk the words: global flags, the command, then its flags. A flag
	// that takes a value consumes the next word.
	fs, cmd := globalFlags(), ""
	var cmdArgs []string
	pending := "" // a flag waiting for its value
	for _, a := range args {
		switch {
		case pending != "":
			pending = ""
		case a == "--":
			// Completion after "--" is not worth the rules it needs.
			return nil, directiveNoFileComp
		case strings.HasPrefix(a, "-") && len(a) > 1:
			if name, ok := flagName(a); ok && takesValue(fs, name) && !strings.Contains(a, "=") {
				pending = name
			}
		case cmd == "":
			cmd = a
			if fs = commandFlags(cmd); fs == nil {
				fs = flag.NewFlagSet(cmd, flag.ContinueOnError)
			}
			continue
		}
		if cmd != "" {
			cmdArgs = append(cmdArgs, a)
		}
	}
	if pending != "" {
		return completeValue(cmd, pending, toComplete, "", fs, cmdArgs, getenv, executable)
	}
	if strings.HasPrefix(toComplete, "-") {
		if name, value, ok := strings.Cut(strings.TrimLeft(toComplete, "-"), "="); ok {
			prefix := toComplete[:len(toComplete)-len(value)]
			return completeValue(cmd, name, value, prefix, fs, cmdArgs, getenv, executable)
		}
		return completeFlags(cmd, fs, toComplete), directiveNoFileComp
	}
	switch cmd {
	case "":
		return filter(commands(), toComplete), directiveNoFileComp
	case "help":
		if len(cmdArgs) == 0 {
			return filter(commands(), toComplete), directiveNoFileComp
		}
	case "completion":
		if len(cmdArgs) == 0 {
			return filter([]candidate{{"bash", ""}, {"zsh", ""}, {"fish", ""}}, toComplete), directiveNoFileComp
		}
	}
	// No command takes positional arguments.
	return nil, directiveNoFileComp
}

// flagName is the name in "-f", "--config" or "--config=x".
func flagName(arg string) (string, bool) {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	return name, name != ""
}

// takesValue reports whether flag name in fs needs a value: it exists and
// is not a boolean.
func takesValue(fs *flag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

// commands lists the commands of the main help's Commands section, with
// their one-line summaries, so a command documented there completes.
func commands() []candidate {
	var cands []candidate
	_, section, _ := strings.Cut(usage, "\nCommands:\n")
	for _, line := range strings.Split(section, "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			break
		}
		cands = append(cands, candidate{fields[0], strings.Join(fields[1:], " ")})
	}
	return cands
}

// completeFlags lists the flags of fs that start with prefix: one-letter
// names as -x, others as --name, described by the help text's options.
func completeFlags(cmd string, fs *flag.FlagSet, prefix string) []candidate {
	descs := flagDescriptions(commandHelp(cmd) + "\n" + usage)
	var cands []candidate
	for _, name := range flagNames(fs) {
		word := "--" + name
		if len(name) == 1 {
			word = "-" + name
		}
		cands = append(cands, candidate{word, descs[name]})
	}
	return filter(cands, prefix)
}

// flagNames lists the flags of fs in name order.
func flagNames(fs *flag.FlagSet) []string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return names
}

// flagDescriptions reads the option lines of help texts
// ("    -f, --config PATH       Config file, or - for stdin.") into a map
// from flag name to the first line of its description.
func flagDescriptions(help string) map[string]string {
	descs := map[string]string{}
	for _, line := range strings.Split(help, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if !strings.HasPrefix(trimmed, "-") || len(line)-len(trimmed) != 4 {
			continue
		}
		spec, desc, ok := strings.Cut(trimmed, "  ")
		if !ok {
			continue
		}
		desc = strings.TrimSpace(desc)
		for _, name := range strings.Split(spec, ", ") {
			name, _, _ = strings.Cut(strings.TrimLeft(name, "-"), " ")
			if _, seen := descs[name]; !seen {
				descs[name] = desc
			}
		}
	}
	return descs
}

// completeValue completes the value of flag name of command cmd; prefix
// goes before each candidate (the "--name=" of the word being typed).
func completeValue(cmd, name, value, prefix string, fs *flag.FlagSet, cmdArgs []string, getenv func(string) string, executable func() (string, error)) ([]candidate, int) {
	var words []string
	switch {
	case name == "config" || name == "f":
		// A config file: any file name.
		return nil, directiveDefault
	case name == "docker-config", name == "bin-dir", cmd == "keygen" && (name == "o" || name == "output-dir"):
		return nil, directiveFilterDirs
	case name == "o" || name == "output":
		words = []string{"text", "json"}
	case name == "host":
		words = configHosts(fs, cmdArgs, getenv, executable)
	}
	var cands []candidate
	for _, w := range words {
		cands = append(cands, candidate{prefix + w, ""})
	}
	return filter(cands, prefix+value), directiveNoFileComp
}

// configHosts returns the hosts of the config the command line names
// (or the default config) as they are written. Completion never
// substitutes ${VAR}s: what it prints lands on the terminal at TAB, and a
// variable can hold a secret; a host written with one is left out, as is
// any name docker would not look up. It reads only the hosts[].host keys,
// so one mistake elsewhere in the config does not hide the hosts. A config
// that does not parse, or one read from stdin, completes nothing:
// completion never prints an error.
func configHosts(fs *flag.FlagSet, cmdArgs []string, getenv func(string) string, executable func() (string, error)) []string {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	_ = fs.Parse(cmdArgs) // a bad flag only leaves the rest unparsed
	flagPath := ""
	if f := fs.Lookup("config"); f != nil {
		flagPath = f.Value.String()
	}
	path, err := configPath(flagPath, getenv, executable)
	if err != nil || path == "-" {
		return nil
	}
	// readConfig takes only a regular file: a FIFO never hangs the shell.
	data, _, err := readConfig(path, strings.NewReader(""))
	if err != nil || len(data) > maxConfigSize {
		return nil
	}
	doc, err := parseYAML(data)
	if err != nil {
		return nil
	}
	top, _ := doc.(map[string]any)
	entries, _ := top["hosts"].([]any)
	var hosts []string
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		host, _ := entry["host"].(string)
		if strings.Contains(host, "${") || checkHostName(host) != nil {
			continue
		}
		hosts = append(hosts, host)
	}
	return hosts
}

// filter keeps the candidates that start with prefix.
func filter(cands []candidate, prefix string) []candidate {
	var kept []candidate
	for _, c := range cands {
		if strings.HasPrefix(c.word, prefix) {
			kept = append(kept, c)
		}
	}
	return kept
}
