//go:build !smallhelper

package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// secretTarget is one Secret to write: its namespace, what the cluster
// holds now, and what became of it.
type secretTarget struct {
	namespace string
	name      string
	// existing is the Secret as last read; nil when there is none.
	existing *corev1.Secret
	// want is what will be written; nil when nothing needs writing.
	want *corev1.Secret
	// replace is set when existing is of another type, which the API
	// server does not let an update change: it is deleted and created.
	replace bool
	// account is the ServiceAccount as read, when --service-account asks
	// for it and it does not list the Secret yet.
	account *corev1.ServiceAccount

	Status         string     `json:"status"`
	ExpiresAt      *time.Time `json:"expiresAt,omitempty"`
	ServiceAccount string     `json:"serviceAccount,omitempty"`
	// AccountStatus is added, already listed or would add.
	AccountStatus string `json:"serviceAccountStatus,omitempty"`
	Error         string `json:"error,omitempty"`
}

// secretWriter talks to the API server for one run.
type secretWriter struct {
	o      *secretOptions
	client *corev1client.CoreV1Client
}

// read gets every target Secret; a missing one is not an error.
func (w *secretWriter) read(targets []*secretTarget) error {
	ctx, cancel := w.o.clusterContext()
	defer cancel()
	for _, t := range targets {
		s, err := w.get(ctx, t)
		if err != nil {
			return fmt.Errorf("secret %s: %w", secretRef(t.namespace, t.name), err)
		}
		t.existing = s
	}
	return nil
}

func (w *secretWriter) get(ctx context.Context, t *secretTarget) (*corev1.Secret, error) {
	s, err := w.client.Secrets(t.namespace).Get(ctx, t.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read: %w", apiError(err))
	}
	return s, nil
}

// allFresh reports whether every target may be left alone under
// --refresh-before, marking them fresh when so.
func (w *secretWriter) allFresh(targets []*secretTarget, hosts []string) bool {
	now := w.o.now()
	until := make([]time.Time, len(targets))
	for i, t := range targets {
		u, ok := freshUntil(t.existing, hosts, w.o.refreshBefore, now)
		if !ok {
			return false
		}
		until[i] = u
	}
	for i, t := range targets {
		t.Status, t.ExpiresAt = secretFresh, &until[i]
	}
	return true
}

// writeAll writes p into every target, all or nothing: each write (and
// each ServiceAccount change) is first checked by the API server with a
// dry run, which applies RBAC, admission and the resourceVersion, and
// only when every check passed is anything written.
func (w *secretWriter) writeAll(targets []*secretTarget, p pullSecret) error {
	ctx, cancel := w.o.clusterContext()
	defer cancel()
	var failed bool
	for _, t := range targets {
		if !p.expiresAt.IsZero() {
			at := p.expiresAt.UTC().Truncate(time.Second)
			t.ExpiresAt = &at
		}
		if err := w.plan(t, p); err == nil {
			err = w.check(ctx, t)
			if err == nil {
				continue
			}
			t.Status, t.Error = secretFailed, oneLineError(err).Error()
		} else {
			t.Status, t.Error = secretFailed, oneLineError(err).Error()
		}
		failed = true
	}
	if failed {
		for _, t := range targets {
			if t.Status != secretFailed {
				t.Status, t.Error = secretNotWritten, "not written: another Secret failed its checks"
			}
			t.AccountStatus = ""
		}
		return errReported
	}
	if w.o.login.dryRun {
		return nil
	}
	for i, t := range targets {
		if err := w.write(ctx, t, p); err != nil {
			t.Status, t.Error = secretFailed, oneLineError(err).Error()
			for _, rest := range targets[i+1:] {
				rest.Status, rest.Error = secretNotWritten, fmt.Sprintf("not written: secret %s failed before it", secretRef(t.namespace, t.name))
				rest.AccountStatus = ""
			}
			return errReported
		}
		if err := w.addToAccount(ctx, t); err != nil {
			t.AccountStatus, t.Error = accountFailed, oneLineError(err).Error()
			return errReported
		}
	}
	return nil
}

// plan decides what to write over t.existing: refusing a Secret that is
// not ours, or any with --create.
func (w *secretWriter) plan(t *secretTarget, p pullSecret) error {
	t.want, t.replace = p.apply(t.namespace, t.name, t.existing), false
	switch {
	case t.existing == nil:
		t.Status = secretCreated
	case w.o.create:
		return errors.New("it already exists (--create)")
	case foreignReason(t.existing) != "" && !w.o.force:
		return fmt.Errorf("refusing to overwrite it: %s (--force takes it over)", foreignReason(t.existing))
	case t.existing.Type != corev1.SecretTypeDockerConfigJson:
		t.Status, t.replace = secretReplaced, true
	case sameSecret(t.existing, t.want):
		t.Status, t.want = secretUnchanged, nil
	default:
		t.Status = secretUpdated
	}
	if w.o.login.dryRun {
		t.Status = map[string]string{secretCreated: secretWouldCreate, secretUpdated: secretWouldUpdate,
			secretReplaced: secretWouldReplace, secretUnchanged: secretUnchanged}[t.Status]
	}
	return nil
}

// dryRun asks the API server to run every check of a write and store
// nothing.
func dryRun() []string { return []string{metav1.DryRunAll} }

// check has the API server check t's write, and reads the ServiceAccount.
func (w *secretWriter) check(ctx context.Context, t *secretTarget) error {
	secrets := w.client.Secrets(t.namespace)
	var err error
	switch {
	case t.want == nil:
	case t.existing == nil:
		_, err = secrets.Create(ctx, t.want, metav1.CreateOptions{DryRun: dryRun()})
	case t.replace:
		// The create that follows cannot be checked while the old
		// Secret exists; its RBAC verb is checked with the first create.
		err = secrets.Delete(ctx, t.name, metav1.DeleteOptions{DryRun: dryRun(), Preconditions: preconditions(t.existing)})
	default:
		_, err = secrets.Update(ctx, t.want, metav1.UpdateOptions{DryRun: dryRun()})
	}
	if err != nil {
		return apiError(err)
	}
	return w.checkAccount(ctx, t)
}

// write writes t.want, retrying once when someone else changed the
// Secret since it was read (the resourceVersion conflict): the Secret is
// read again and the same rules apply to what is there now.
func (w *secretWriter) write(ctx context.Context, t *secretTarget, p pullSecret) error {
	for attempt := 1; ; attempt++ {
		if t.want == nil {
			return nil
		}
		if w.o.beforeWrite != nil {
			w.o.beforeWrite(t.namespace)
		}
		err := w.writeOnce(ctx, t)
		if err == nil {
			return nil
		}
		if !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) && !(t.replace && apierrors.IsNotFound(err)) {
			return apiError(err)
		}
		if attempt == 2 {
			return fmt.Errorf("it changed while it was being written, twice: run again (%w)", apiError(err))
		}
		if t.existing, err = w.get(ctx, t); err != nil {
			return err
		}
		if err := w.plan(t, p); err != nil {
			return err
		}
	}
}

func (w *secretWriter) writeOnce(ctx context.Context, t *secretTarget) error {
	secrets := w.client.Secrets(t.namespace)
	if t.existing == nil {
		_, err := secrets.Create(ctx, t.want, metav1.CreateOptions{})
		return err
	}
	if t.replace {
		err := secrets.Delete(ctx, t.name, metav1.DeleteOptions{Preconditions: preconditions(t.existing)})
		if err != nil {
			return err
		}
		fresh := t.want.DeepCopy()
		fresh.ResourceVersion, fresh.UID = "", ""
		_, err = secrets.Create(ctx, fresh, metav1.CreateOptions{})
		return err
	}
	// t.want carries the resourceVersion read: the update fails with a
	// conflict, rather than overwrite, when the Secret changed since.
	_, err := secrets.Update(ctx, t.want, metav1.UpdateOptions{})
	return err
}

// preconditions make a delete apply only to the Secret as read.
func preconditions(s *corev1.Secret) *metav1.Preconditions {
	uid, rv := s.UID, s.ResourceVersion
	return &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}
}

// checkAccount reads the ServiceAccount --service-account names and
// checks the update that lists the Secret in its imagePullSecrets.
func (w *secretWriter) checkAccount(ctx context.Context, t *secretTarget) error {
	if w.o.serviceAccount == "" {
		return nil
	}
	t.ServiceAccount = secretRef(t.namespace, w.o.serviceAccount)
	accounts := w.client.ServiceAccounts(t.namespace)
	sa, err := accounts.Get(ctx, w.o.serviceAccount, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("serviceaccount %s: %w", t.ServiceAccount, apiError(err))
	}
	if listsSecret(sa, t.name) {
		t.AccountStatus = "already listed"
		return nil
	}
	t.account, t.AccountStatus = sa, "would add"
	want := withPullSecret(sa, t.name)
	if _, err := accounts.Update(ctx, want, metav1.UpdateOptions{DryRun: dryRun()}); err != nil {
		return fmt.Errorf("serviceaccount %s: %w", t.ServiceAccount, apiError(err))
	}
	return nil
}

// addToAccount lists the Secret in the ServiceAccount's imagePullSecrets,
// with the resourceVersion read (a conflict is read again and retried
// once), so that no concurrent change to the account is lost.
func (w *secretWriter) addToAccount(ctx context.Context, t *secretTarget) error {
	if t.account == nil || w.o.login.dryRun {
		return nil
	}
	accounts := w.client.ServiceAccounts(t.namespace)
	sa := t.account
	for attempt := 1; ; attempt++ {
		if listsSecret(sa, t.name) {
			t.AccountStatus = "already listed"
			return nil
		}
		_, err := accounts.Update(ctx, withPullSecret(sa, t.name), metav1.UpdateOptions{})
		if err == nil {
			t.AccountStatus = "added"
			return nil
		}
		if !apierrors.IsConflict(err) || attempt == 2 {
			return fmt.Errorf("serviceaccount %s: %w", t.ServiceAccount, apiError(err))
		}
		if sa, err = accounts.Get(ctx, w.o.serviceAccount, metav1.GetOptions{}); err != nil {
			return fmt.Errorf("serviceaccount %s: %w", t.ServiceAccount, apiError(err))
		}
	}
}

func listsSecret(sa *corev1.ServiceAccount, name string) bool {
	return slices.ContainsFunc(sa.ImagePullSecrets, func(r corev1.LocalObjectReference) bool { return r.Name == name })
}

func withPullSecret(sa *corev1.ServiceAccount, name string) *corev1.ServiceAccount {
	out := sa.DeepCopy()
	out.ImagePullSecrets = append(out.ImagePullSecrets, corev1.LocalObjectReference{Name: name})
	return out
}

// apiError is the API server's answer in a CLI's words: its status
// message, which names the object, the verb and the user, and not the Go
// error chain around it.
func apiError(err error) error {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		if msg := status.Status().Message; msg != "" {
			return errors.New(msg)
		}
	}
	return err
}
