package main

// Cloud identity failures in a CLI's words. fluxcd/pkg/auth and the cloud
// SDKs speak to a controller in a pod ("for the controller", "check pod
// configuration"); a person at a terminal or a CI job needs to hear which
// credentials were not found and the usual way to provide them.

import (
	"errors"
	"strings"
)

// noCloudCredentials says, for each cloud, that its SDK found no
// credentials at all, and how they are usually provided.
var noCloudCredentials = map[string]string{
	"aws": "no AWS credentials found (no AWS_ACCESS_KEY_ID, AWS_PROFILE or web identity token, and no instance role); " +
		"in GitHub Actions, run aws-actions/configure-aws-credentials before this step; on a workstation, run \"aws sso login\" or set AWS_PROFILE",
	"gcp": "no Google Cloud credentials found (no GOOGLE_APPLICATION_CREDENTIALS or gcloud application-default login, and no metadata server); " +
		"in GitHub Actions, run google-github-actions/auth before this step; on a workstation, run \"gcloud auth application-default login\"",
	"azure": "no Azure credentials found (no AZURE_CLIENT_ID and AZURE_TENANT_ID, no workload identity, no managed identity, no \"az login\"); " +
		"in GitHub Actions, run azure/login before this step; on a workstation, run \"az login\"",
}

// cloudOfProvider is the cloud whose identity a registry provider uses.
var cloudOfProvider = map[string]string{"ecr": "aws", "acr": "azure", "gar": "gcp"}

// cloudError is err from cloud's ("aws", "gcp" or "azure") SDK, or the
// hint of noCloudCredentials when the SDK found no credentials at all: its
// own text then lists each source it tried, in a controller's words.
func cloudError(cloud string, err error) error {
	if err == nil || !missingCredentials(cloud, err.Error()) {
		return err
	}
	return errors.New(noCloudCredentials[cloud])
}

// missingCredentials reports whether text, an error of cloud's SDK, says
// that no source of credentials had any, rather than that one was refused.
func missingCredentials(cloud, text string) bool {
	switch cloud {
	case "aws":
		// The SDK's chain ends at IMDS: with nothing before it and no
		// instance role, it fails there.
		return containsAny(text, "no EC2 IMDS role found", "no credential provider configured",
			"failed to refresh cached credentials, failed to load credentials", "ec2imds: GetMetadata")
	case "gcp":
		return containsAny(text, "could not find default credentials") ||
			strings.Contains(text, "computeMetadata") && containsAny(text, "connection refused", "no such host", "i/o timeout")
	case "azure":
		return strings.Contains(text, "DefaultAzureCredential: failed to acquire a token") &&
			strings.Contains(text, "EnvironmentCredential: missing environment variable")
	}
	return false
}

// controllerWords are fluxcd/pkg/auth's and the Azure SDK's phrases for a
// controller in a pod, dropped from any error a host fails with.
var controllerWords = strings.NewReplacer(
	"failed to get access token for artifact registry: ", "",
	"failed to create provider access token for the controller: ", "",
	" for the controller", "",
	". Check pod configuration or set ClientID in the options", "",
	" Check pod configuration or set ClientID in the options", "",
)
