package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// The recipes of examples/ are what users copy: each folder holds a config
// (flux-mirror.yaml) and a GitHub Actions workflow (workflow.yaml). CI
// lints the workflows with actionlint (.ci/run); the tests here dry-run
// each config as its workflow would run it, with the variables the
// workflow provides set to placeholders and the cloud or identity it
// names played by the loopback fakes, and check that the README and
// docs/ quote the files byte for byte.

// exampleRecipe is one folder of examples/ and how to dry-run its config.
type exampleRecipe struct {
	dir string
	// setup is the script run before the dry-run: the placeholders of the
	// config's variables, the fakes it needs and the secrets to sweep for.
	setup string
	// flags are added to "login --dry-run -f flux-mirror.yaml".
	flags string
	// want is a regexp of the line the dry-run must print for the
	// config's host, up to its end.
	want string
}

var exampleRecipes = []exampleRecipe{{
	dir: "ghcr",
	setup: `env GITHUB_ACTOR=octocat
env GITHUB_TOKEN=ghs_placeholderGitHubToken
secret $GITHUB_TOKEN`,
	want: `• would store credential for ghcr\.io in '$WORK'/docker/config\.json`,
}, {
	dir: "dockerhub",
	setup: `env DOCKERHUB_USERNAME=octocat
env DOCKERHUB_TOKEN=dckr_pat_placeholderDockerHubToken
secret $DOCKERHUB_TOKEN`,
	want: `• would store credential for docker\.io in '$WORK'/docker/config\.json`,
}, {
	// The fake ECR answers for eu-west-1; the workflow's region is the
	// user's to choose.
	dir: "ecr",
	setup: `cloudfake
env ECR_REGISTRY=123456789012.dkr.ecr.eu-west-1.amazonaws.com
secret $AWS_SECRET_ACCESS_KEY $ECR_PASSWORD`,
	want: `• would store credential for 123456789012\.dkr\.ecr\.eu-west-1\.amazonaws\.com in '$WORK'/docker/config\.json \(expires in (12h|11h59m59s)\)`,
}, {
	dir: "acr",
	setup: `cloudfake
env ACR_REGISTRY=myregistry.azurecr.io
secret $IDENTITY_HEADER $ENTRA_ACCESS_TOKEN $ACR_REFRESH_TOKEN`,
	want: `• would store credential for myregistry\.azurecr\.io in '$WORK'/docker/config\.json \(expires in (3h|2h59m59s)\)`,
}, {
	dir: "gar",
	setup: `cloudfake
env GAR_REGISTRY=europe-west1-docker.pkg.dev
secret $GAR_ACCESS_TOKEN`,
	want: `• would store credential for europe-west1-docker\.pkg\.dev in '$WORK'/docker/config\.json \(expires in (1h|59m59s)\)`,
}, {
	// The setup action links docker-credential-flux-mirror; the job's
	// OIDC token comes from the fake Actions runtime.
	dir: "helper",
	setup: `symlink $WORK/bin/docker-credential-flux-mirror -> $CMDBIN/flux-mirror
env REGISTRY=registry.example.com
fake-actions-oidc eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJyZWdpc3RyeS5leGFtcGxlLmNvbSJ9.cGxhY2Vob2xkZXItb2lkYy10b2tlbg
secret cGxhY2Vob2xkZXItb2lkYy10b2tlbg $ACTIONS_ID_TOKEN_REQUEST_TOKEN`,
	flags: "--helper",
	want:  `• would store credential for registry\.example\.com via the "flux-mirror" credential helper`,
}, {
	// flux runs the plugin with its arguments and environment unchanged,
	// so "flux mirror login" is this login.
	dir: "flux-plugin",
	setup: `env GITHUB_ACTOR=octocat
env GITHUB_TOKEN=ghs_placeholderGitHubToken
secret $GITHUB_TOKEN`,
	want: `• would store credential for ghcr\.io in '$WORK'/docker/config\.json`,
}}

// exampleFiles are the files every examples/ folder holds.
var exampleFiles = []string{"flux-mirror.yaml", "workflow.yaml"}

// TestExamplesComplete checks that each recipe has a config and a
// workflow, and that every folder of examples/ with a workflow is a recipe
// this file dry-runs. (Folders without one, such as examples for
// Kubernetes, are tested where they are used.)
func TestExamplesComplete(t *testing.T) {
	for _, r := range exampleRecipes {
		for _, f := range exampleFiles {
			if _, err := os.Stat(filepath.Join("examples", r.dir, f)); err != nil {
				t.Errorf("examples/%s: %v", r.dir, err)
			}
		}
	}
	workflows, err := filepath.Glob(filepath.Join("examples", "*", "workflow.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range workflows {
		d := filepath.Base(filepath.Dir(w))
		if !slices.ContainsFunc(exampleRecipes, func(r exampleRecipe) bool { return r.dir == d }) {
			t.Errorf("examples/%s has no entry in exampleRecipes: add how to dry-run its config", d)
		}
	}
}

// TestExamplesDryRun runs, for each recipe, a script holding its config
// as it is on disk: login --dry-run must resolve the host and write
// nothing, with nothing on stderr.
func TestExamplesDryRun(t *testing.T) {
	dir := t.TempDir()
	for _, r := range exampleRecipes {
		config, err := os.ReadFile(filepath.Join("examples", r.dir, "flux-mirror.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		script := exampleScript(r, string(config))
		if err := os.WriteFile(filepath.Join(dir, r.dir+".txt"), []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runScripts(t, dir, false)
}

// exampleScript is the testscript that dry-runs r's config.
func exampleScript(r exampleRecipe, config string) string {
	flags := strings.TrimSpace("--dry-run " + r.flags)
	return fmt.Sprintf(`# examples/%[1]s/flux-mirror.yaml resolves with placeholders for its
# variables, as its workflow runs it, and --dry-run writes nothing.
%[2]s
exec flux-mirror login %[3]s -f flux-mirror.yaml
stdout '^%[4]s$'
! stderr .
! exists $DOCKER_CONFIG/config.json

-- flux-mirror.yaml --
%[5]s`, r.dir, r.setup, flags, r.want, config)
}

// runnerEnv are variables every GitHub Actions step has without asking
// (GitHub's "Default environment variables").
var runnerEnv = []string{
	"GITHUB_ACTOR", "GITHUB_REPOSITORY", "GITHUB_REPOSITORY_OWNER",
	"GITHUB_SHA", "GITHUB_REF_NAME", "GITHUB_SERVER_URL", "GITHUB_WORKSPACE",
}

// exampleWorkflow is the part of a workflow TestExampleWorkflowsProvide reads.
type exampleWorkflow struct {
	Permissions map[string]string `json:"permissions"`
	Env         map[string]any    `json:"env"`
	Jobs        map[string]struct {
		Env   map[string]any `json:"env"`
		Steps []struct {
			Run string         `json:"run"`
			Env map[string]any `json:"env"`
		} `json:"steps"`
	} `json:"jobs"`
}

// configVariable matches a ${VAR} substitution and captures VAR.
var configVariable = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)

// TestExampleWorkflowsProvide checks that each workflow runs login on
// its recipe's config and gives that step every variable the config
// reads; in helper mode every step must have them, since docker and flux
// run the helper in their own steps. A config that mints from the job's
// OIDC token, or a cloud login, needs id-token: write.
func TestExampleWorkflowsProvide(t *testing.T) {
	for _, r := range exampleRecipes {
		config, err := os.ReadFile(filepath.Join("examples", r.dir, "flux-mirror.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(filepath.Join("examples", r.dir, "workflow.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var wf exampleWorkflow
		if err := yaml.Unmarshal(data, &wf); err != nil {
			t.Fatalf("examples/%s/workflow.yaml: %v", r.dir, err)
		}
		helper := strings.Contains(r.flags, "--helper")
		logins := 0
		for _, job := range wf.Jobs {
			for _, step := range job.Steps {
				if !strings.Contains(step.Run, "login") {
					continue
				}
				logins++
				if !strings.Contains(step.Run, "login "+r.flags) || !strings.Contains(step.Run, "-f flux-mirror.yaml") {
					t.Errorf("examples/%s/workflow.yaml: the login step runs %q, want login %s-f flux-mirror.yaml", r.dir, step.Run, strings.TrimSpace(r.flags+" "))
				}
				for _, m := range configVariable.FindAllStringSubmatch(string(config), -1) {
					name := m[1]
					_, inWorkflow := wf.Env[name]
					_, inJob := job.Env[name]
					_, inStep := step.Env[name]
					switch {
					case slices.Contains(runnerEnv, name), inWorkflow, inJob:
					case inStep && !helper:
					case inStep:
						t.Errorf("examples/%s/workflow.yaml: %s is set for the login step only; the helper needs it in every step", r.dir, name)
					default:
						t.Errorf("examples/%s/workflow.yaml: the login step does not set %s, which the config reads", r.dir, name)
					}
				}
			}
		}
		if logins != 1 {
			t.Errorf("examples/%s/workflow.yaml: %d login steps, want 1", r.dir, logins)
		}
		mints := regexp.MustCompile(`provider: (github|ecr|acr|gar)\b`).Match(config)
		if mints && wf.Permissions["id-token"] != "write" {
			t.Errorf("examples/%s/workflow.yaml: the config mints from the job's identity, but permissions has no id-token: write", r.dir)
		}
	}
}
