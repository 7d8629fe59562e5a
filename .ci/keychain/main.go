// Command keychain-check is Flux's reader of a pull Secret, for the
// secret tests: go-containerregistry's pkg/authn/kubernetes keychain (what
// source-controller builds its registry auth from) reads the named Secret
// from the API server, and the command pushes a random image to REF with
// it and pulls it back, checking every blob. A module of its own, so that
// the project's go.mod never takes pkg/authn/kubernetes.
//
//	keychain-check -kubeconfig FILE -namespace NS -secret NAME REF
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	kauth "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of a user that may read the Secret")
	namespace := flag.String("namespace", "", "the Secret's namespace")
	secret := flag.String("secret", "", "the pull Secret's name")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: keychain-check -kubeconfig FILE -namespace NS -secret NAME REF")
		os.Exit(2)
	}
	if err := check(*kubeconfig, *namespace, *secret, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "keychain-check:", err)
		os.Exit(1)
	}
}

func check(kubeconfig, namespace, secret, image string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	keychain, err := kauth.New(ctx, client, kauth.Options{Namespace: namespace, ImagePullSecrets: []string{secret}})
	if err != nil {
		return fmt.Errorf("keychain from secret %s/%s: %w", namespace, secret, err)
	}
	ref, err := name.ParseReference(image)
	if err != nil {
		return err
	}
	img, err := random.Image(1024, 2)
	if err != nil {
		return err
	}
	opts := []remote.Option{remote.WithAuthFromKeychain(keychain), remote.WithContext(ctx)}
	if err := remote.Write(ref, img, opts...); err != nil {
		return fmt.Errorf("push: %w", err)
	}
	pulled, err := remote.Image(ref, opts...)
	if err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	if err := validate.Image(pulled); err != nil {
		return fmt.Errorf("pulled image: %w", err)
	}
	want, _ := img.Digest()
	got, _ := pulled.Digest()
	if got != want {
		return fmt.Errorf("pulled %s, pushed %s", got, want)
	}
	fmt.Println("pushed and pulled", got)
	return nil
}
