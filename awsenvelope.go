//go:build !smallhelper

package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The aws credential is not an OIDC token but a SigV4-signed
// sts:GetCallerIdentity request the registry replays to STS to learn who
// signed it (after Vault's AWS IAM auth method; docs/sources.md, "aws",
// gives the whole shape). It is shaped like an unsigned JWT so that
// registries can route on its header.
const (
	// awsEnvelopeHeader is the envelope's first segment, byte for byte.
	awsEnvelopeHeader = `{"alg":"none","typ":"aws-sigv4-getcalleridentity"}`
	// awsEnvelopeLifetime is the exp claim's distance from signing time.
	// STS itself refuses a signature older than about 15 minutes.
	awsEnvelopeLifetime = 120 * time.Second
	// defaultAWSRegion is used when the AWS config names no region.
	defaultAWSRegion = "us-east-1"
	// stsGetCallerIdentityBody is the Query API call, see
	// https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
	stsGetCallerIdentityBody = "Action=GetCallerIdentity&Version=2011-06-15"
)

// awsEnvelopeClaims is the envelope's second segment. Fields are in
// alphabetical order, as are http.Header's keys once marshalled.
type awsEnvelopeClaims struct {
	Aud []string   `json:"aud"`
	Exp int64      `json:"exp"`
	STS stsRequest `json:"sts"`
}

// stsRequest is the signed request as sent, minus Host and Content-Length,
// which the URL and body imply.
type stsRequest struct {
	Body    string      `json:"body"`
	Headers http.Header `json:"headers"`
	Method  string      `json:"method"`
	URL     string      `json:"url"`
}

// mintAWSEnvelope signs the envelope with the ambient AWS credentials (the
// SDK's default chain: environment, shared config and SSO, web identity,
// then IMDS) for the region of the AWS config. Nothing is sent to STS.
func mintAWSEnvelope(ctx context.Context, audiences []string, now time.Time) (string, time.Time, error) {
	cfg, err := loadAWSConfig(ctx)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("load AWS config: %w", err)
	}
	if cfg.Credentials == nil {
		return "", time.Time{}, errors.New("retrieve AWS credentials: no credential provider configured")
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("retrieve AWS credentials: %w", err)
	}
	region := cfg.Region
	if region == "" {
		region = defaultAWSRegion
	}
	return signAWSEnvelope(ctx, creds, region, audiences, now)
}

// signAWSEnvelope signs POST https://sts.<region>.amazonaws.com/ at now,
// with X-Audience (one value per audience) among the signed headers so that
// the envelope cannot be replayed to a registry it was not meant for, and
// returns base64url(header).base64url(claims). with an empty third segment.
func signAWSEnvelope(ctx context.Context, creds aws.Credentials, region string, audiences []string, now time.Time) (string, time.Time, error) {
	stsURL := "https://sts." + region + ".amazonaws.com/"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, stsURL, strings.NewReader(stsGetCallerIdentityBody))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("GetCallerIdentity request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, aud := range audiences {
		req.Header.Add("X-Audience", aud)
	}
	// SignHTTP signs every header present (X-Audience included) plus Host
	// and Content-Length, then adds X-Amz-Date, Authorization and, for
	// session credentials, X-Amz-Security-Token.
	payloadHash := sha256.Sum256([]byte(stsGetCallerIdentityBody))
	err = v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(payloadHash[:]), "sts", region, now)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("sign GetCallerIdentity request: %w", err)
	}

	// exp is in whole seconds, like X-Amz-Date; expiresAt keeps the
	// fraction so that the envelope reports a lifetime of 2m, not 1m59s.
	expiresAt := now.Add(awsEnvelopeLifetime)
	claims, err := json.Marshal(awsEnvelopeClaims{
		Aud: audiences,
		Exp: expiresAt.Unix(),
		STS: stsRequest{
			Body:    stsGetCallerIdentityBody,
			Headers: req.Header,
			Method:  req.Method,
			URL:     stsURL,
		},
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("encode envelope claims: %w", err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(awsEnvelopeHeader)) + "." + enc.EncodeToString(claims) + ".", expiresAt, nil
}
