package records

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/slipway-dev/slipway/webhook"
)

// An app's webhooks live in a Secret in its namespace, not in a record:
// their URLs often carry a token (Slack's do), and the signing secret is
// one. Failed deliveries live in a second Secret that only the worker
// writes (its rights in an app namespace cover Secrets, not ConfigMaps).
const (
	WebhooksSecretName  = "webhooks"
	WebhookFailuresName = "webhook-failures"
	// Keys of the webhooks Secret.
	webhooksKeySecret = "secret"
	webhooksKeyHooks  = "webhooks.json"
	webhooksKeyFailed = "failures.json"
)

// maxWebhookFailures bounds the failures kept: the newest.
const maxWebhookFailures = 50

// GetWebhooks returns an app's webhooks; none (and no secret) when it has
// never had any.
func (s *Store) GetWebhooks(ctx context.Context, app string) (webhook.Config, error) {
	sec, err := s.Core.CoreV1().Secrets(s.Namespace(app)).Get(ctx, WebhooksSecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return webhook.Config{}, nil
	}
	if err != nil {
		return webhook.Config{}, fmt.Errorf("webhooks of %s: %w", app, err)
	}
	return decodeWebhooks(sec)
}

func decodeWebhooks(sec *corev1.Secret) (webhook.Config, error) {
	c := webhook.Config{Secret: string(sec.Data[webhooksKeySecret])}
	if raw := sec.Data[webhooksKeyHooks]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &c.Hooks); err != nil {
			return webhook.Config{}, fmt.Errorf("Secret %s/%s holds no webhooks: %w", sec.Namespace, sec.Name, err)
		}
	}
	return c, nil
}

// ChangeWebhooks applies change to an app's webhooks and writes them,
// creating their Secret the first time; a concurrent change makes it
// start over from the newer version. An error from change writes nothing.
func (s *Store) ChangeWebhooks(ctx context.Context, app string, change func(*webhook.Config) error) (webhook.Config, error) {
	var out webhook.Config
	secrets := s.Core.CoreV1().Secrets(s.Namespace(app))
	err := retry.OnError(retry.DefaultRetry, func(err error) bool {
		return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
	}, func() error {
		sec, err := secrets.Get(ctx, WebhooksSecretName, metav1.GetOptions{})
		found := err == nil
		if apierrors.IsNotFound(err) {
			sec, err = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{
				Name: WebhooksSecretName, Namespace: s.Namespace(app), Labels: map[string]string{LabelApp: app},
			}, Type: corev1.SecretTypeOpaque}, nil
		}
		if err != nil {
			return err
		}
		c, err := decodeWebhooks(sec)
		if err != nil {
			return err
		}
		if err := change(&c); err != nil {
			return err
		}
		hooks, err := json.Marshal(c.Hooks)
		if err != nil {
			return err
		}
		if sec.Data == nil {
			sec.Data = map[string][]byte{}
		}
		sec.Data[webhooksKeySecret], sec.Data[webhooksKeyHooks] = []byte(c.Secret), hooks
		if !found {
			_, err = secrets.Create(ctx, sec, metav1.CreateOptions{})
		} else {
			_, err = secrets.Update(ctx, sec, metav1.UpdateOptions{})
		}
		out = c
		return err
	})
	return out, err
}

// WebhookFailures lists an app's failed deliveries, oldest first.
func (s *Store) WebhookFailures(ctx context.Context, app string) ([]webhook.Failure, error) {
	sec, err := s.Core.CoreV1().Secrets(s.Namespace(app)).Get(ctx, WebhookFailuresName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("webhook failures of %s: %w", app, err)
	}
	return decodeFailures(sec)
}

func decodeFailures(sec *corev1.Secret) ([]webhook.Failure, error) {
	var out []webhook.Failure
	if raw := sec.Data[webhooksKeyFailed]; len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("Secret %s/%s holds no webhook failures: %w", sec.Namespace, sec.Name, err)
		}
	}
	return out, nil
}

// RecordWebhookFailure adds f to an app's failed deliveries, replacing one
// of the same delivery (so a retry writes it once) and keeping the newest
// maxWebhookFailures. It patches with the resourceVersion it read, so two
// failures recorded at once do not lose one.
func (s *Store) RecordWebhookFailure(ctx context.Context, app string, f webhook.Failure) error {
	secrets := s.Core.CoreV1().Secrets(s.Namespace(app))
	return retry.OnError(retry.DefaultRetry, func(err error) bool {
		return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err)
	}, func() error {
		sec, err := secrets.Get(ctx, WebhookFailuresName, metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		found := err == nil
		var list []webhook.Failure
		if found {
			if list, err = decodeFailures(sec); err != nil {
				list = nil // unreadable: start a new list rather than lose this one
			}
		}
		list = slices.DeleteFunc(list, func(o webhook.Failure) bool { return o.Delivery == f.Delivery })
		list = append(list, f)
		if len(list) > maxWebhookFailures {
			list = list[len(list)-maxWebhookFailures:]
		}
		raw, err := json.Marshal(list)
		if err != nil {
			return err
		}
		if !found {
			_, err = secrets.Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: WebhookFailuresName, Namespace: s.Namespace(app), Labels: map[string]string{LabelApp: app}},
				Type:       corev1.SecretTypeOpaque,
				Data:       map[string][]byte{webhooksKeyFailed: raw},
			}, metav1.CreateOptions{})
			return err
		}
		patch, err := json.Marshal(map[string]any{
			"metadata": map[string]any{"resourceVersion": sec.ResourceVersion},
			"data":     map[string][]byte{webhooksKeyFailed: raw},
		})
		if err != nil {
			return err
		}
		_, err = secrets.Patch(ctx, WebhookFailuresName, types.MergePatchType, patch, metav1.PatchOptions{})
		return err
	})
}
