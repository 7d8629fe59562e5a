package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"maps"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go/logging"
	"github.com/rogpeppe/go-internal/testscript"
)

func TestCheckRegistryHost(t *testing.T) {
	t.Setenv("AZURE_ENVIRONMENT_FILEPATH", "")
	tests := []struct {
		provider, host string
		wantErr        string // empty: the host is accepted
	}{
		{"ecr", "123456789012.dkr.ecr.eu-west-1.amazonaws.com", ""},
		{"ecr", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", ""},
		{"ecr", "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", ""},
		{"ecr", "123456789012.dkr-ecr.eu-west-1.on.aws", ""},
		{"ecr", "public.ecr.aws", ""},
		{"ecr", "ecr-public.aws.com", ""},
		{"ecr", "12345.dkr.ecr.eu-west-1.amazonaws.com", `ecr host "12345.dkr.ecr.eu-west-1.amazonaws.com" must look like <account>.dkr.ecr.<region>.amazonaws.com or public.ecr.aws`},
		{"ecr", "123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example", `ecr host "123456789012.dkr.ecr.eu-west-1.amazonaws.com.evil.example" must look like <account>.dkr.ecr.<region>.amazonaws.com or public.ecr.aws`},
		{"ecr", "ghcr.io", `ecr host "ghcr.io" must look like <account>.dkr.ecr.<region>.amazonaws.com or public.ecr.aws`},
		{"acr", "myregistry.azurecr.io", ""},
		{"acr", "myregistry.azurecr.cn", ""},
		{"acr", "myregistry.azurecr.us", ""},
		{"acr", "azurecr.io", `acr host "azurecr.io" must look like <name>.azurecr.io (or .azurecr.cn, .azurecr.us, .azurecr.de)`},
		{"acr", "myregistry.azurecr.io.evil.example", `acr host "myregistry.azurecr.io.evil.example" must look like <name>.azurecr.io (or .azurecr.cn, .azurecr.us, .azurecr.de)`},
		{"gar", "europe-west1-docker.pkg.dev", ""},
		{"gar", "gcr.io", ""},
		{"gar", "eu.gcr.io", ""},
		{"gar", "docker.pkg.dev", `gar host "docker.pkg.dev" must look like <location>-docker.pkg.dev or [<region>.]gcr.io`},
		{"gar", "myregistry.azurecr.io", `gar host "myregistry.azurecr.io" must look like <location>-docker.pkg.dev or [<region>.]gcr.io`},
		{"ghcr", "ghcr.io", `unknown provider "ghcr" (want ecr, acr or gar)`},
		{"", "ghcr.io", `unknown provider "" (want ecr, acr or gar)`},
	}
	for _, tt := range tests {
		t.Run(tt.provider+"/"+tt.host, func(t *testing.T) {
			err := checkRegistryHost(tt.provider, tt.host)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("checkRegistryHost(%q, %q) = %v, want nil", tt.provider, tt.host, err)
			case tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr):
				t.Errorf("checkRegistryHost(%q, %q) = %v, want %s", tt.provider, tt.host, err, tt.wantErr)
			}
		})
	}
}

func TestCheckRegistryHostAzureEnvironmentFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "env.json")
	if err := os.WriteFile(path, []byte(`{"name":"AzureStackCloud","containerRegistryDNSSuffix":"azurecr.example"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AZURE_ENVIRONMENT_FILEPATH", path)
	if err := checkRegistryHost("acr", "myregistry.azurecr.example"); err != nil {
		t.Errorf("host with the environment file's suffix: %v", err)
	}
	err := checkRegistryHost("acr", "myregistry.example.com")
	if err == nil || !strings.Contains(err.Error(), "azurecr.example") {
		t.Errorf("host without the suffix: got %v, want an error naming the suffix azurecr.example", err)
	}
}

// cmdCloudGolden is golden for the cloud scripts: it compares FILE with
// testdata/cloud/NAME byte for byte, after putting ${ECR_DOCKER_AUTH} and
// the like in place of the fake's values, which change from run to run and
// are not for a failure message. go test -update rewrites NAME.
//
//	cloudgolden FILE NAME
func cmdCloudGolden(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cloudgolden FILE NAME")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	got := string(data)
	for _, v := range []string{"ECR_DOCKER_AUTH", "ACR_DOCKER_AUTH", "GAR_DOCKER_AUTH"} {
		if value := ts.Getenv(v); value != "" {
			got = strings.ReplaceAll(got, value, "${"+v+"}")
		}
	}
	wd, err := os.Getwd()
	ts.Check(err)
	golden := filepath.Join(wd, "testdata", "cloud", args[1])
	if *update {
		ts.Check(os.WriteFile(golden, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(golden)
	ts.Check(err)
	if got != string(want) {
		ts.Fatalf("%s differs from golden %s (go test -update refreshes it):\n%s", args[0], args[1], diffLines(string(want), got))
	}
}

// registryLoginResult is what TestRegistryLoginChild reports to its parent.
type registryLoginResult struct {
	Username  string
	Password  string
	ExpiresAt time.Time
	Err       string
}

// TestRegistryLoginChild is registryLogin in a process of its own, run by
// runRegistryLogin: the proxy and CA settings it depends on are read from
// the environment once per process, as in production.
func TestRegistryLoginChild(t *testing.T) {
	out := os.Getenv("CLOUD_TEST_CHILD_OUT")
	if out == "" {
		t.Skip("run by runRegistryLogin")
	}
	timeout, err := time.ParseDuration(os.Getenv("CLOUD_TEST_CHILD_TIMEOUT"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	a, err := registryLogin(ctx, os.Getenv("CLOUD_TEST_CHILD_PROVIDER"), os.Getenv("CLOUD_TEST_CHILD_HOST"))
	r := registryLoginResult{Username: a.Username, Password: a.Password, ExpiresAt: a.ExpiresAt}
	if err != nil {
		r.Err = err.Error()
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// runRegistryLogin runs registryLogin(provider, host) in a child process
// whose whole environment is the fake's plus extra, over a clean base with
// an empty HOME and the metadata endpoints out of reach. It fails the test
// if a secret of the fake shows in the child's output, in its error, or in
// a file it left in HOME.
func runRegistryLogin(t *testing.T, fake *cloudFake, timeout time.Duration, provider, host string, extra ...string) registryLoginResult {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "result.json")
	cmd := exec.Command(os.Args[0], "-test.run=^TestRegistryLoginChild$")
	cmd.Env = append([]string{
		"PATH=/usr/bin:/bin",
		"HOME=" + dir,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"GCE_METADATA_HOST=127.0.0.1:9",
		"CLOUD_TEST_CHILD_OUT=" + out,
		"CLOUD_TEST_CHILD_TIMEOUT=" + timeout.String(),
		"CLOUD_TEST_CHILD_PROVIDER=" + provider,
		"CLOUD_TEST_CHILD_HOST=" + host,
	}, fake.env...)
	cmd.Env = append(cmd.Env, extra...)
	output, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child process: %v\n%s", err, redactFakeSecrets(fake, string(output)))
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r registryLoginResult
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	// result.json carries the password to the test.
	secrets := slices.Sorted(maps.Values(fakeSecrets(fake)))
	checkNoSecrets(t, secrets, dir, []string{out}, string(output), r.Err)
	return r
}

// fakeSecrets names the secrets the fake cloud knows, by what they are.
func fakeSecrets(fake *cloudFake) map[string]string {
	return map[string]string{
		"AWS secret key":      fakeAWSSecretKey,
		"ECR password":        fakeECRPassword,
		"identity header":     fakeIdentityHeader,
		"Entra token":         fakeEntraToken,
		"ACR refresh token":   fake.acrToken,
		"Google access token": fakeGoogleToken,
	}
}

// redactFakeSecrets keeps the fake's secrets out of a failure message.
func redactFakeSecrets(fake *cloudFake, s string) string {
	for name, secret := range fakeSecrets(fake) {
		s = strings.ReplaceAll(s, secret, "<"+name+">")
	}
	return s
}

func startTestCloudFake(t *testing.T, mode string) *cloudFake {
	t.Helper()
	fake, err := startCloudFake(t.TempDir(), mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.close)
	return fake
}

// requestLog returns the fake's requests.log.
func requestLog(t *testing.T, fake *cloudFake) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(fake.dir, "requests.log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// checkAbout fails unless got is within a minute of want: the fakes set
// expiries relative to their own clock.
func checkAbout(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if d := got.Sub(want); d < -time.Minute || d > time.Minute {
		t.Errorf("%s = %v, want about %v", what, got, want)
	}
}

func TestRegistryLogin(t *testing.T) {
	fake := startTestCloudFake(t, "ok")
	start := time.Now()
	tests := []struct {
		provider, host string
		user, password string
		expiresAt      time.Time
		logLines       []string
	}{
		{
			provider: "ecr", host: "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
			user: "AWS", password: fakeECRPassword, expiresAt: start.Add(fakeECRLifetime),
			logLines: []string{
				"proxy CONNECT api.ecr.eu-west-1.amazonaws.com:443",
				"ecr GetAuthorizationToken host=api.ecr.eu-west-1.amazonaws.com target=AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken scope=eu-west-1/ecr",
			},
		},
		{
			provider: "ecr", host: "123456789012.dkr.ecr.ap-southeast-2.amazonaws.com",
			user: "AWS", password: fakeECRPassword, expiresAt: start.Add(fakeECRLifetime),
			logLines: []string{"ecr GetAuthorizationToken host=api.ecr.ap-southeast-2.amazonaws.com target=AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken scope=ap-southeast-2/ecr"},
		},
		{
			provider: "ecr", host: "public.ecr.aws",
			user: "AWS", password: fakeECRPassword, expiresAt: start.Add(fakeECRLifetime),
			logLines: []string{"ecr-public GetAuthorizationToken host=api.ecr-public.us-east-1.amazonaws.com target=SpencerFrontendService.GetAuthorizationToken scope=us-east-1/ecr-public"},
		},
		{
			provider: "acr", host: "myregistry.azurecr.io",
			user: fakeACRUsername, password: fake.acrToken, expiresAt: start.Add(fakeACRLifetime),
			logLines: []string{
				"msi token resource=https://containerregistry.azure.net",
				"acr exchange host=myregistry.azurecr.io service=myregistry.azurecr.io grant_type=access_token",
			},
		},
		{
			provider: "gar", host: "europe-west1-docker.pkg.dev",
			user: "oauth2accesstoken", password: fakeGoogleToken, expiresAt: start.Add(fakeGoogleExpiresIn * time.Second),
			logLines: []string{"google token scope=https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/userinfo.email"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.provider+"/"+tt.host, func(t *testing.T) {
			r := runRegistryLogin(t, fake, time.Minute, tt.provider, tt.host)
			if r.Err != "" {
				t.Fatalf("registryLogin: %s", redactFakeSecrets(fake, r.Err))
			}
			if r.Username != tt.user {
				t.Errorf("username = %q, want %q", r.Username, tt.user)
			}
			if r.Password != tt.password {
				t.Error("the password is not the one the fake registry issued")
			}
			checkAbout(t, "expiry", r.ExpiresAt, tt.expiresAt)
			log := requestLog(t, fake)
			for _, line := range tt.logLines {
				if !strings.Contains(log, line+"\n") {
					t.Errorf("the fake did not log %q; log:\n%s", line, redactFakeSecrets(fake, log))
				}
			}
		})
	}
}

// newFakeCA returns a throw-away CA's certificate in PEM and a leaf it
// signed for hosts.
func newFakeCA(hosts []string) ([]byte, tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "flux-mirror test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		return nil, tls.Certificate{}, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: hosts[0]},
		DNSNames:     hosts,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return caPEM, tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}, nil
}

// fakeACRRefreshToken returns an "alg": "none" JWT expiring at exp, the
// shape of an ACR refresh token as far as fluxcd reads it (the exp claim,
// unverified).
func fakeACRRefreshToken(exp time.Time) (string, error) {
	claims, err := json.Marshal(map[string]any{"exp": exp.Unix(), "iss": "fake-acr", "jti": rand.Text()})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc(claims) + ".", nil
}

// TestAWSLoggerSilenced checks that the AWS SDK, whose default logger
// writes to os.Stderr, gets a logger that writes nowhere, for the ECR
// login and the aws envelope alike.
func TestAWSLoggerSilenced(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CA_BUNDLE", "")
	cfg, err := (&awsSDK{}).LoadDefaultConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Logger.(logging.Nop); !ok {
		t.Errorf("ECR login: AWS SDK logger is %T, want logging.Nop", cfg.Logger)
	}
	if cfg, err = loadAWSConfig(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg.Logger.(logging.Nop); !ok {
		t.Errorf("aws envelope: AWS SDK logger is %T, want logging.Nop", cfg.Logger)
	}
}
