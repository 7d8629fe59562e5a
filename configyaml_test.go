package main

import (
	"reflect"
	"testing"
)

// TestConfigValidYAML checks that valid YAML which the strict parser once
// refused loads: a host that overrides keys of a merged one, and a
// trailing document marker.
func TestConfigValidYAML(t *testing.T) {
	two := []hostConfig{
		{Host: "a.example", Username: "robot", Credential: &credentialConfig{Value: "tok"}},
		{Host: "b.example", Username: "robot", Credential: &credentialConfig{Value: "tok"}},
	}
	tests := []struct {
		name string
		doc  string
		want []hostConfig
	}{
		{"merge then override", v1beta1Header + `hosts:
  - &base
    host: a.example
    username: robot
    credential: {value: '${TOKEN}'}
  - <<: *base
    host: b.example
`, two},
		{"v2 merge then override", v1beta2Header + `hosts:
  - &base {host: a.example, credential: {type: jwt, username: robot, value: '${TOKEN}'}}
  - {<<: *base, host: b.example}
`, two},
		{"trailing document marker", v1beta1Header + "hosts:\n- {host: a.example, username: robot, credential: {value: tok}}\n---\n", two[:1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parseDoc(t.TempDir(), tt.doc, map[string]string{"TOKEN": "tok"})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Hosts, tt.want) {
				t.Errorf("hosts:\n got %s\nwant %s", dumpHosts(cfg.Hosts), dumpHosts(tt.want))
			}
		})
	}
}
