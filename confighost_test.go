package main

import (
	"strings"
	"testing"
)

// TestConfigHostErrors pins the messages for a host docker never looks
// up, for two hosts stored under one key, and for an empty username.
func TestConfigHostErrors(t *testing.T) {
	host := func(h string) string {
		return v1beta1Header + "hosts: [{host: '" + h + "', credential: {value: x}}]"
	}
	tests := []struct {
		name string
		doc  string
		env  map[string]string
		want string
	}{
		{"leading space", host(" r.example"), nil, `hosts[0]: host " r.example" must be host[:port], without surrounding space`},
		{"trailing space", host("r.example "), nil, `hosts[0]: host "r.example " must be host[:port], without surrounding space`},
		{"trailing newline", v1beta1Header + "hosts: [{host: \"r.example\\n\", credential: {value: x}}]", nil,
			`hosts[0]: host "r.example\n" must be host[:port], without surrounding space`},
		{"inner newline", v1beta1Header + "hosts: [{host: \"r.exa\\nmple\", credential: {value: x}}]", nil,
			`hosts[0]: host "r.exa\nmple" must be host[:port], without control characters`},
		{"control character", v1beta1Header + "hosts: [{host: \"r.exa\\x7fmple\", credential: {value: x}}]", nil,
			`hosts[0]: host "r.exa\x7fmple" must be host[:port], without control characters`},
		{"user", host("robot@r.example"), nil, `hosts[0]: host "robot@r.example" must be host[:port], without a user (user@)`},
		{"query", host("r.example?x=1"), nil, `hosts[0]: host "r.example?x=1" must be host[:port], without a query`},
		{"fragment", host("r.example#x"), nil, `hosts[0]: host "r.example#x" must be host[:port], without a fragment`},
		{"wildcard", host("*.example.com"), nil,
			`hosts[0]: host "*.example.com" must be host[:port]: "*.example.com" is not a host name (dot-separated labels of letters, digits and inner '-')`},
		{"inner space", host("r example"), nil,
			`hosts[0]: host "r example" must be host[:port]: "r example" is not a host name (dot-separated labels of letters, digits and inner '-')`},
		{"empty label", host("r..example"), nil,
			`hosts[0]: host "r..example" must be host[:port]: "r..example" is not a host name (dot-separated labels of letters, digits and inner '-')`},
		{"trailing dot", host("r.example."), nil,
			`hosts[0]: host "r.example." must be host[:port]: "r.example." is not a host name (dot-separated labels of letters, digits and inner '-')`},
		{"leading hyphen", host("-r.example"), nil,
			`hosts[0]: host "-r.example" must be host[:port]: "-r.example" is not a host name (dot-separated labels of letters, digits and inner '-')`},
		{"underscore", host("r_1.example"), nil,
			`hosts[0]: host "r_1.example" must be host[:port]: "r_1.example" is not a host name (dot-separated labels of letters, digits and inner '-')`},
		{"only a port", host(":5000"), nil,
			`hosts[0]: host ":5000" must be host[:port]: "" is not a host name (dot-separated labels of letters, digits and inner '-')`},
		{"bare IPv6", host("::1"), nil, `hosts[0]: host "::1" must be host[:port] or [ipv6][:port]: an IPv6 address must be in brackets, as [::1]:5000`},
		{"bare IPv6 with port", host("fe80::1:5000"), nil,
			`hosts[0]: host "fe80::1:5000" must be host[:port] or [ipv6][:port]: an IPv6 address must be in brackets, as [::1]:5000`},
		{"unclosed bracket", host("[::1:5000"), nil, `hosts[0]: host "[::1:5000" must be host[:port] or [ipv6][:port]: missing ]`},
		{"IPv4 in brackets", host("[127.0.0.1]:5000"), nil,
			`hosts[0]: host "[127.0.0.1]:5000" must be host[:port] or [ipv6][:port]: "[127.0.0.1]" is not an IPv6 address`},
		{"IPv6 zone", host("[fe80::1%eth0]"), nil,
			`hosts[0]: host "[fe80::1%eth0]" must be host[:port] or [ipv6][:port]: "[fe80::1%eth0]" is not an IPv6 address`},
		{"junk after brackets", host("[::1]5000"), nil,
			`hosts[0]: host "[::1]5000" must be host[:port] or [ipv6][:port]: "5000" after the address is not :port`},
		{"empty port", host("r.example:"), nil, `hosts[0]: host "r.example:": port "" must be a number from 1 to 65535`},
		{"port zero", host("r.example:0"), nil, `hosts[0]: host "r.example:0": port "0" must be a number from 1 to 65535`},
		{"port too big", host("[::1]:65536"), nil, `hosts[0]: host "[::1]:65536": port "65536" must be a number from 1 to 65535`},
		{"port with sign", host("r.example:+5000"), nil, `hosts[0]: host "r.example:+5000": port "+5000" must be a number from 1 to 65535`},
		{"port not a number", host("r.example:http"), nil, `hosts[0]: host "r.example:http": port "http" must be a number from 1 to 65535`},
		{"substituted space", v1beta1Header + "hosts: [{host: '${REGISTRY}', credential: {value: x}}]", map[string]string{"REGISTRY": "r.example "},
			`hosts[0]: host "r.example " must be host[:port], without surrounding space`},

		// One Docker config key for two hosts.
		{"docker hub aliases", v1beta1Header + "hosts: [{host: docker.io, credential: {value: x}}, {host: r.example, maxChunkSize: 0}, {host: index.docker.io, credential: {value: z}}]", nil,
			`hosts[2]: host "index.docker.io" and hosts[0] host "docker.io" are stored under one Docker config key "https://index.docker.io/v1/"; configure it once`},
		{"case variants", v1beta2Header + "hosts: [{host: Registry.Example.com, credential: {type: jwt, value: x}}, {host: registry.example.com, credential: {type: jwt, value: z}}]", nil,
			`hosts[1]: host "registry.example.com" and hosts[0] host "Registry.Example.com" are stored under one Docker config key "registry.example.com"; configure it once`},
		{"docker hub in another case", v1beta1Header + "hosts: [{host: registry-1.docker.io, credential: {value: x}}, {host: Docker.IO, credential: {value: z}}]", nil,
			`hosts[1]: host "Docker.IO" and hosts[0] host "registry-1.docker.io" are stored under one Docker config key "https://index.docker.io/v1/"; configure it once`},

		// A username written, or substituted, empty.
		{"empty username", v1beta1Header + "hosts: [{host: ghcr.io, username: '', credential: {value: x}}]", nil,
			`hosts[0]: username for host "ghcr.io" is empty; write a username, or leave the key out to store a registry token`},
		{"username substituted empty", v1beta1Header + "hosts: [{host: ghcr.io, username: '${OWNER}', credential: {value: x}}]", map[string]string{"OWNER": ""},
			`hosts[0]: username is empty after substituting ${OWNER}`},
		{"username default empty", v1beta1Header + "hosts: [{host: ghcr.io, username: '${OWNER:-}', credential: {value: x}}]", nil,
			`hosts[0]: username is empty after substituting ${OWNER:-}`},
		{"empty username without credential", v1beta1Header + "hosts: [{host: ghcr.io, username: '', maxChunkSize: 0}]", nil,
			"hosts[0]: username can only be set with credential"},
		{"v2 empty username", v1beta2Header + "hosts: [{host: ghcr.io, credential: {type: jwt, username: '', value: x}}]", nil,
			`hosts[0]: credential: username for host "ghcr.io" is empty; write a username, or leave the key out to store a registry token`},
		{"v2 username substituted empty", v1beta2Header + "hosts: [{host: ghcr.io, credential: {type: jwt, username: '${OWNER}', value: x}}]", map[string]string{"OWNER": ""},
			`hosts[0]: credential.username is empty after substituting ${OWNER}`},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseDoc(dir, tt.doc, tt.env)
			if err == nil {
				t.Fatalf("loaded %s, want error %q", dumpHosts(cfg.Hosts), tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %q\nwant %q", err, tt.want)
			}
		})
	}
}

// TestConfigHostNames checks the hosts docker looks up load as written.
func TestConfigHostNames(t *testing.T) {
	hosts := []string{
		"r.example", "localhost", "localhost:5000", "127.0.0.1:5000", "[::1]", "[::1]:5000",
		"[2001:db8::1]:443", "Registry.Example.com", "r-1.example:65535", "xn--bcher-kva.example",
		"123456789012.dkr.ecr.us-east-1.amazonaws.com", "ghcr.io", "docker.io",
	}
	var doc strings.Builder
	doc.WriteString(v1beta1Header + "hosts:\n")
	for _, h := range hosts {
		doc.WriteString("- {host: '" + h + "', username: u, credential: {value: x}}\n")
	}
	cfg, err := parseDoc(t.TempDir(), doc.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range cfg.Hosts {
		if h.Host != hosts[i] || h.Username != "u" {
			t.Errorf("hosts[%d] = %q (username %q), want %q (username u)", i, h.Host, h.Username, hosts[i])
		}
	}
}

// TestConfigAWSAudiences pins the aws audiences that would sign like
// another audience list, and checks the others are not refused.
func TestConfigAWSAudiences(t *testing.T) {
	aws := func(auds string) string {
		return v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, provider: aws, audiences: " + auds + "}}]"
	}
	const why = ` with provider "aws": the signed X-Audience header joins audiences with commas and trims spaces`
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"comma", aws("['a,b']"), `hosts[0]: credential: audiences[0] "a,b" must not contain a comma` + why},
		{"leading space", aws("[a, ' b']"), `hosts[0]: credential: audiences[1] " b" must not have surrounding space` + why},
		{"trailing space", aws("['a ']"), `hosts[0]: credential: audiences[0] "a " must not have surrounding space` + why},
		{"repeated spaces", aws("['a  b']"), `hosts[0]: credential: audiences[0] "a  b" must not contain repeated spaces` + why},
		{"tab", aws("[\"a\\tb\"]"), `hosts[0]: credential: audiences[0] "a\tb" must not contain control characters or spaces other than ' '` + why},
		{"v1beta1 comma", v1beta1Header + "hosts: [{host: r.example, credential: {provider: aws, aud: 'a,b'}}]",
			`hosts[0]: credential: aud "a,b" must not contain a comma` + why},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseDoc(dir, tt.doc, nil)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error:\n got %v\nwant %q", err, tt.want)
			}
		})
	}
	// Other providers send one audience each or none in a header: a comma
	// is theirs to refuse.
	for _, doc := range []string{aws("['sts.amazonaws.com', 'a b']"),
		v1beta2Header + "hosts: [{host: r.example, credential: {type: jwt, provider: github, audiences: ['a,b']}}]"} {
		if _, err := parseDoc(dir, doc, nil); err != nil {
			t.Errorf("%s: %v", doc, err)
		}
	}
}
