package main

import (
	"errors"
	"testing"
)

// TestCloudError checks which SDK errors become the no-credentials hint,
// and that any other keeps its text, without a controller's words once it
// reaches a report line.
func TestCloudError(t *testing.T) {
	for _, tt := range []struct {
		cloud, err string
		want       string
	}{
		{"aws", "failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata, access disabled", noCloudCredentials["aws"]},
		{"aws", "retrieve AWS credentials: no credential provider configured", noCloudCredentials["aws"]},
		{"aws", "operation error ECR: GetAuthorizationToken, https response error StatusCode: 400, AccessDeniedException",
			"operation error ECR: GetAuthorizationToken, https response error StatusCode: 400, AccessDeniedException"},
		{"gcp", "google: could not find default credentials. See https://cloud.google.com/docs/authentication", noCloudCredentials["gcp"]},
		{"gcp", `Get "http://127.0.0.1:9/computeMetadata/v1/instance/service-accounts/default/token": dial tcp 127.0.0.1:9: connect: connection refused`, noCloudCredentials["gcp"]},
		{"gcp", "oauth2: cannot fetch token: 400 Bad Request", "oauth2: cannot fetch token: 400 Bad Request"},
		{"azure", "DefaultAzureCredential: failed to acquire a token.\nEnvironmentCredential: missing environment variable AZURE_TENANT_ID", noCloudCredentials["azure"]},
		{"azure", "failed to get access token for artifact registry: failed to create provider access token for the controller: WorkloadIdentityCredential: no client ID specified. Check pod configuration or set ClientID in the options",
			"WorkloadIdentityCredential: no client ID specified"},
		{"github", "no EC2 IMDS role found", "no EC2 IMDS role found"},
	} {
		got := oneLineError(cloudError(tt.cloud, errors.New(tt.err))).Error()
		if got != tt.want {
			t.Errorf("%s %q:\n got %q\nwant %q", tt.cloud, tt.err, got, tt.want)
		}
	}
}
