//go:build !smallhelper

package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"golang.org/x/oauth2"
)

// translateSDKError shortens text, err's text, where err is an SDK's
// error. The Azure SDK's response error spans a dozen lines with rulers: it
// becomes the request, the status and a bounded excerpt of the body the
// registry answered; oauth2's "...\nResponse: <body>" becomes its status
// and such an excerpt.
func translateSDKError(err error, text string) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.RawResponse != nil {
		msg := re.RawResponse.Status
		if req := re.RawResponse.Request; req != nil {
			msg = fmt.Sprintf("%s %s://%s%s: %s", req.Method, req.URL.Scheme, req.URL.Host, req.URL.EscapedPath(), msg)
		}
		if body, _ := runtime.Payload(re.RawResponse); len(bytes.TrimSpace(body)) > 0 {
			msg += ": " + errorBody(bytes.NewReader(body))
		}
		// Keep the context the error was wrapped in around it.
		text = strings.Replace(text, re.Error(), msg, 1)
	}
	var oe *oauth2.RetrieveError
	if errors.As(err, &oe) && oe.Response != nil {
		msg := "oauth2: cannot fetch token: " + oe.Response.Status
		if len(bytes.TrimSpace(oe.Body)) > 0 {
			msg += ": " + errorBody(bytes.NewReader(oe.Body))
		}
		text = strings.Replace(text, oe.Error(), msg, 1)
	}
	return text
}
