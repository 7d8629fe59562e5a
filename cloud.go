//go:build !smallhelper

package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	signerv4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecrpublic"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
	"github.com/fluxcd/pkg/auth"
	awsauth "github.com/fluxcd/pkg/auth/aws"
	"github.com/fluxcd/pkg/auth/azure"
	"github.com/fluxcd/pkg/auth/gcp"
)

// The cloud registry logins are fluxcd/pkg/auth's, the code Flux itself
// runs for provider: aws|azure|gcp: ECR's GetAuthorizationToken with the
// region taken from the host, ACR's /oauth2/exchange of an Entra token, and
// a Google access token as the password of "oauth2accesstoken".

// registryLogin obtains a cloud registry's native username/password for
// host from ambient identity: provider is "ecr", "acr" or "gar".
func registryLogin(ctx context.Context, provider, host string) (hostAuth, error) {
	if err := checkRegistryHost(provider, host); err != nil {
		return hostAuth{}, err
	}
	var (
		p    auth.ArtifactRegistryCredentialsProvider
		opts []auth.Option
	)
	switch provider {
	case "ecr":
		p = awsauth.Provider{Implementation: &awsSDK{}}
	case "acr":
		p = azure.Provider{}
		// The Flux CLI passes this too: a person at a terminal is usually
		// logged in with "az login", which only the az CLI credential sees.
		opts = append(opts, auth.WithAllowShellOut())
	case "gar":
		p = gcp.Provider{}
	}
	creds, err := auth.GetArtifactRegistryCredentials(ctx, p, host, opts...)
	if err != nil {
		return hostAuth{}, err
	}
	a, err := creds.Authorization()
	if err != nil {
		return hostAuth{}, err
	}
	if a.Username == "" || a.Password == "" {
		return hostAuth{}, errors.New("the registry login returned an empty username or password")
	}
	return hostAuth{Username: a.Username, Password: a.Password, ExpiresAt: creds.ExpiresAt}, nil
}

// checkRegistryHost reports whether host has the shape of provider's
// registries ("ecr", "acr", "gar"); the error shows the expected shape.
// The test is fluxcd/pkg/auth's own, so a host that passes here is one
// registryLogin accepts; only the wording is ours, because fluxcd's error
// quotes its regular expression.
func checkRegistryHost(provider, host string) error {
	switch provider {
	case "ecr":
		if _, err := (awsauth.Provider{}).ParseArtifactRepository(host); err != nil {
			return fmt.Errorf("ecr host %q must look like <account>.dkr.ecr.<region>.amazonaws.com or public.ecr.aws", host)
		}
	case "acr":
		if _, err := (azure.Provider{}).ParseArtifactRepository(host); err != nil {
			// A sovereign cloud's environment file sets its own suffix,
			// which fluxcd's error names.
			if os.Getenv("AZURE_ENVIRONMENT_FILEPATH") != "" {
				return fmt.Errorf("acr host %q: %w", host, err)
			}
			return fmt.Errorf("acr host %q must look like <name>.azurecr.io (or .azurecr.cn, .azurecr.us, .azurecr.de)", host)
		}
	case "gar":
		if _, err := (gcp.Provider{}).ParseArtifactRepository(host); err != nil {
			return fmt.Errorf("gar host %q must look like <location>-docker.pkg.dev or [<region>.]gcr.io", host)
		}
	default:
		return unknownProvider(provider)
	}
	return nil
}

// loadAWSConfig is the AWS SDK's LoadDefaultConfig for every AWS call
// here, with the SDK's logger silenced: by default it writes its warnings
// (a checksum it cannot validate, a deprecated setting) to os.Stderr,
// outside the one redaction rule and in the middle of the report.
func loadAWSConfig(ctx context.Context, optFns ...func(*awsconfig.LoadOptions) error) (aws.Config, error) {
	optFns = append(optFns, awsconfig.WithLogger(logging.Nop{}))
	return awsconfig.LoadDefaultConfig(ctx, optFns...)
}

func unknownProvider(provider string) error {
	return fmt.Errorf("unknown provider %q (want ecr, acr or gar)", provider)
}

// awsSDK is fluxcd/pkg/auth v0.56.0's AWS implementation (aws/implementation.go)
// with one change: the ECR calls go through the HTTP client the AWS SDK
// built while loading the AWS config, so they trust the roots the user
// configured for AWS.
//
// fluxcd hands config.LoadDefaultConfig a plain *http.Client, and the SDK
// can add a custom CA bundle (AWS_CA_BUNDLE, or ca_bundle in ~/.aws/config)
// only to a client of its own: with a bundle set, every ECR login failed
// with "unable to add custom RootCAs HTTPClient, has no WithTransportOptions".
// Passing the SDK its own buildable client lets it apply the bundle exactly
// as the AWS CLI does (the bundle replaces the system roots for AWS calls).
// fluxcd then builds the ECR client from a fresh aws.Config with its plain
// client again, so the ECR calls swap in the loaded one. Nothing outside
// this login changes: no environment variable, no http.DefaultTransport.
//
// One awsSDK serves one login: LoadDefaultConfig (the credential chain)
// runs before the ECR call, in the same goroutine.
type awsSDK struct {
	client aws.HTTPClient // set by LoadDefaultConfig
}

func (s *awsSDK) LoadDefaultConfig(ctx context.Context, optFns ...func(*awsconfig.LoadOptions) error) (aws.Config, error) {
	// Later options win: this replaces the client fluxcd passed.
	optFns = append(optFns, awsconfig.WithHTTPClient(awshttp.NewBuildableClient()))
	cfg, err := loadAWSConfig(ctx, optFns...)
	var pathErr *fs.PathError
	if bundle := os.Getenv("AWS_CA_BUNDLE"); errors.As(err, &pathErr) && pathErr.Path == bundle {
		return aws.Config{}, fmt.Errorf("AWS_CA_BUNDLE: %w", err)
	}
	if err != nil {
		return aws.Config{}, err
	}
	s.client = cfg.HTTPClient
	return cfg, nil
}

func (s *awsSDK) GetAuthorizationToken(ctx context.Context, cfg aws.Config) (any, error) {
	if err := s.useLoadedClient(&cfg); err != nil {
		return nil, err
	}
	return ecr.NewFromConfig(cfg).GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
}

func (s *awsSDK) GetPublicAuthorizationToken(ctx context.Context, cfg aws.Config) (any, error) {
	if err := s.useLoadedClient(&cfg); err != nil {
		return nil, err
	}
	return ecrpublic.NewFromConfig(cfg).GetAuthorizationToken(ctx, &ecrpublic.GetAuthorizationTokenInput{})
}

func (s *awsSDK) useLoadedClient(cfg *aws.Config) error {
	if s.client == nil {
		return errors.New("ecr: the AWS config was not loaded before the registry call")
	}
	cfg.HTTPClient = s.client
	return nil
}

// The three calls below serve Kubernetes service-account and EKS logins,
// which flux-mirror never asks fluxcd for; they are fluxcd's own code.

func (s *awsSDK) AssumeRoleWithWebIdentity(ctx context.Context, params *sts.AssumeRoleWithWebIdentityInput, options sts.Options) (*sts.AssumeRoleWithWebIdentityOutput, error) {
	return sts.New(options).AssumeRoleWithWebIdentity(ctx, params)
}

func (s *awsSDK) DescribeCluster(ctx context.Context, params *eks.DescribeClusterInput, options eks.Options) (*eks.DescribeClusterOutput, error) {
	return eks.New(options).DescribeCluster(ctx, params)
}

func (s *awsSDK) PresignGetCallerIdentity(ctx context.Context, optFn func(*sts.PresignOptions), options sts.Options) (*signerv4.PresignedHTTPRequest, error) {
	return sts.NewPresignClient(sts.New(options)).PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, optFn)
}
