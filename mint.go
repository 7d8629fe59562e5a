//go:build !smallhelper

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/idtoken"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// The variables GitHub Actions and Forgejo Actions set in a job that may
// request an OIDC token, that is one with `permissions: id-token: write`:
// https://docs.github.com/en/actions/reference/security/oidc#methods-for-requesting-the-oidc-token
const (
	envActionsRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envActionsRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// envSPIFFESocket names the SPIFFE Workload API endpoint, as in the
// SPIFFE Workload Endpoint specification:
// https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE_Workload_Endpoint.md#4-locating-the-endpoint
const envSPIFFESocket = "SPIFFE_ENDPOINT_SOCKET"

// mintToken obtains a token for audiences from the ambient identity named
// by provider (github, forgejo, gcp, azure, aws, jwt-svid). audienceSet says
// whether the audiences were configured rather than defaulted to the host.
func mintToken(ctx context.Context, provider string, audiences []string, audienceSet bool, now time.Time) (string, time.Time, error) {
	// The caller defaults the audiences to the host, so none is a bug there.
	if len(audiences) == 0 {
		return "", time.Time{}, errors.New("no audience to mint a token for")
	}
	switch provider {
	case "github", "forgejo":
		return mintGitHubToken(ctx, audiences)
	case "gcp":
		return mintGCPIDToken(ctx, audiences, audienceSet)
	case "azure":
		return mintAzureToken(ctx, audiences)
	case "aws":
		return mintAWSEnvelope(ctx, audiences, now)
	case "jwt-svid":
		return mintJWTSVID(ctx, audiences)
	}
	// The config loader rejects unknown providers; this guards the switch.
	return "", time.Time{}, fmt.Errorf("unknown provider %q", provider)
}

// mintGitHubToken asks the Actions runtime of GitHub or Forgejo for an OIDC
// ID token: GET the request URL with one audience parameter per audience
// added to its query, authorised by the request token; the answer is
// {"value": "<jwt>"}.
func mintGitHubToken(ctx context.Context, audiences []string) (string, time.Time, error) {
	rawURL, requestToken := os.Getenv(envActionsRequestURL), os.Getenv(envActionsRequestToken)
	if rawURL == "" || requestToken == "" {
		return "", time.Time{}, fmt.Errorf("%s and %s must be set: grant the job `permissions: id-token: write`",
			envActionsRequestURL, envActionsRequestToken)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s: %w", envActionsRequestURL, err)
	}
	// Append rather than re-encode, so the runtime's own parameters (such as
	// api-version) reach it exactly as it wrote them.
	audienceQuery := url.Values{"audience": audiences}.Encode()
	if u.RawQuery == "" {
		u.RawQuery = audienceQuery
	} else {
		u.RawQuery += "&" + audienceQuery
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("request OIDC token: %w", err)
	}
	req.Header.Set("Authorization", "bearer "+requestToken)
	req.Header.Set("Accept", "application/json")

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("request OIDC token: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", time.Time{}, fmt.Errorf("request OIDC token: %s: %s", resp.Status, errorBody(resp.Body))
	}
	var answer struct {
		Value string `json:"value"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes)).Decode(&answer); err != nil {
		return "", time.Time{}, fmt.Errorf("decode OIDC token response: %w", err)
	}
	if answer.Value == "" {
		return "", time.Time{}, errors.New(`the OIDC token response has no "value"`)
	}
	return answer.Value, jwtExpiry(answer.Value), nil
}

// mintGCPIDToken obtains a Google-signed ID token for the audience from
// Application Default Credentials: a service-account key, workload identity
// federation or the metadata server.
func mintGCPIDToken(ctx context.Context, audiences []string, audienceSet bool) (string, time.Time, error) {
	if len(audiences) > 1 {
		return "", time.Time{}, errors.New(`provider "gcp" accepts at most one audience`)
	}
	// The metadata server and service-account key paths of idtoken do not
	// pass ctx on to their HTTP requests, so stop waiting when ctx is done.
	aud := audiences[0]
	return untilDone(ctx, fmt.Sprintf("mint Google ID token for audience %q", aud), func() (string, time.Time, error) {
		ts, err := idtoken.NewTokenSource(ctx, aud)
		if err != nil && strings.Contains(err.Error(), "unsupported credentials type") {
			// Application Default Credentials of a user (`gcloud auth
			// application-default login`) cannot sign an ID token for an
			// arbitrary audience.
			if audienceSet {
				return "", time.Time{}, fmt.Errorf("gcloud user credentials cannot mint an ID token for audience %q: use a service account, or unset aud", aud)
			}
			return mintGCPUserIDToken(ctx)
		}
		if err != nil {
			return "", time.Time{}, fmt.Errorf("mint Google ID token for audience %q: %w", aud, err)
		}
		tok, err := ts.Token()
		if err != nil {
			return "", time.Time{}, fmt.Errorf("mint Google ID token for audience %q: %w", aud, err)
		}
		return tok.AccessToken, jwtExpiry(tok.AccessToken), nil
	})
}

// mintGCPUserIDToken returns the OIDC ID token Google issues to a user
// along with an access token. Its audience is gcloud's OAuth client, not
// the registry: it identifies the user to a registry that accepts that.
func mintGCPUserIDToken(ctx context.Context) (string, time.Time, error) {
	// The openid scope makes Google's token endpoint return the user's ID
	// token beside the access token (OpenID Connect Core 1.0 §3.1.3.3).
	ts, err := google.DefaultTokenSource(ctx, "openid", "https://www.googleapis.com/auth/userinfo.email")
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mint ID token from gcloud user credentials: %w", err)
	}
	tok, err := ts.Token()
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mint ID token from gcloud user credentials: %w", err)
	}
	id, _ := tok.Extra("id_token").(string)
	if id == "" {
		return "", time.Time{}, errors.New("mint ID token from gcloud user credentials: the token response has no id_token")
	}
	return id, jwtExpiry(id), nil
}

// mintAzureToken obtains an Entra ID access token for the scope
// "<aud>/.default" from the default Azure credential chain: environment,
// workload identity, managed identity, then the Azure CLI and Azure
// Developer CLI, so it works in a pod, a VM and a developer's shell alike.
func mintAzureToken(ctx context.Context, audiences []string) (string, time.Time, error) {
	if len(audiences) > 1 {
		return "", time.Time{}, errors.New(`provider "azure" accepts at most one audience`)
	}
	scope := audiences[0] + "/.default"
	cred, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("default Azure credential: %w", err)
	}
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("get Entra token for scope %q: %w", scope, err)
	}
	return tok.Token, tok.ExpiresOn, nil
}

// mintJWTSVID fetches a JWT-SVID for the audiences from the SPIFFE Workload
// API (SPIFFE Workload API specification, FetchJWTSVID).
func mintJWTSVID(ctx context.Context, audiences []string) (string, time.Time, error) {
	addr := os.Getenv(envSPIFFESocket)
	if addr == "" {
		return "", time.Time{}, fmt.Errorf("%s must be set to the SPIFFE Workload API address, such as unix:///run/spire/sockets/agent.sock", envSPIFFESocket)
	}
	params := jwtsvid.Params{Audience: audiences[0], ExtraAudiences: audiences[1:]}
	svid, err := workloadapi.FetchJWTSVID(ctx, params, workloadapi.WithAddr(addr))
	// Past the deadline, gRPC may report the stream's reset, or the
	// server's view of the deadline, rather than the deadline itself.
	switch {
	case err == nil:
	case ctx.Err() != nil:
		err = ctx.Err()
	case status.Code(err) == codes.DeadlineExceeded:
		err = context.DeadlineExceeded
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("fetch JWT-SVID from %s: %w", addr, err)
	}
	return svid.Marshal(), svid.Expiry, nil
}

// untilDone returns mint's result, or ctx's error as soon as ctx is done,
// leaving mint to finish on its own, for libraries that ignore ctx. what
// describes mint in that error.
func untilDone(ctx context.Context, what string, mint func() (string, time.Time, error)) (string, time.Time, error) {
	type result struct {
		token     string
		expiresAt time.Time
		err       error
	}
	done := make(chan result, 1)
	go func() {
		token, expiresAt, err := mint()
		done <- result{token, expiresAt, err}
	}()
	select {
	case r := <-done:
		return r.token, r.expiresAt, r.err
	case <-ctx.Done():
		return "", time.Time{}, fmt.Errorf("%s: %w", what, ctx.Err())
	}
}
