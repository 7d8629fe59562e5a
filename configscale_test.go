package main

import (
	"fmt"
	"strings"
	"testing"
)

// manyHosts is a v1beta1 config of n hosts reg-0.example.com … and then
// the hosts of extra, as written.
func manyHosts(n int, extra ...string) string {
	var b strings.Builder
	b.WriteString(v1beta1Header + "hosts:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - {host: reg-%d.example.com, username: u, credential: {value: tok-%d}}\n", i, i)
	}
	for _, h := range extra {
		fmt.Fprintf(&b, "  - {host: %s, maxChunkSize: 0}\n", h)
	}
	return b.String()
}

// TestManyHostsDuplicates shows that the duplicate-host check still names
// both hosts of a pair far apart in a large config. Its cost is measured by
// BenchmarkParseConfig4000Hosts, not timed here.
func TestManyHostsDuplicates(t *testing.T) {
	const n = 4000
	tests := []struct {
		name, extra, want string
	}{
		{"same key", "Reg-7.Example.COM",
			fmt.Sprintf(`hosts[%d]: host "Reg-7.Example.COM" and hosts[7] host "reg-7.example.com" are stored under one Docker config key "reg-7.example.com"; configure it once`, n)},
		{"same host", "reg-3999.example.com",
			fmt.Sprintf(`hosts[%d]: host "reg-3999.example.com" is configured more than once`, n)},
		{"docker hub aliases", "docker.io, maxChunkSize: 0}\n  - {host: registry-1.docker.io",
			fmt.Sprintf(`hosts[%d]: host "registry-1.docker.io" and hosts[%d] host "docker.io" are stored under one Docker config key "https://index.docker.io/v1/"; configure it once`, n+1, n)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseDoc(t.TempDir(), manyHosts(n, tt.extra), nil)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error: %v\nwant: %s", err, tt.want)
			}
		})
	}
	cfg, err := parseDoc(t.TempDir(), manyHosts(n, "other.example.com"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Hosts) != n+1 || cfg.Hosts[n].Host != "other.example.com" {
		t.Errorf("loaded %d hosts, want %d ending with other.example.com", len(cfg.Hosts), n+1)
	}
}

// BenchmarkParseConfig4000Hosts is parseConfig on a config of 4,000 static
// hosts: the duplicate check must keep it linear in the number of hosts.
func BenchmarkParseConfig4000Hosts(b *testing.B) {
	doc := []byte(manyHosts(4000))
	dir := b.TempDir()
	for b.Loop() {
		if _, err := parseConfig(doc, dir, nil); err != nil {
			b.Fatal(err)
		}
	}
}
