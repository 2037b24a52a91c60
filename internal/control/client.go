package control

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/posthorn/posthorn/internal/queue"
)

// DefaultTimeout bounds each request of a Client made by NewClient.
const DefaultTimeout = 30 * time.Second

// Client talks to a running daemon's control socket. It implements
// QueueOps.
type Client struct {
	// Timeout bounds each request; 0 means no limit.
	Timeout time.Duration
	hc      *http.Client
}

// NewClient returns a client for the control socket at socketPath.
func NewClient(socketPath string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socketPath)
		},
		DisableKeepAlives: true,
	}
	return &Client{Timeout: DefaultTimeout, hc: &http.Client{Transport: tr}}
}

// Error is a reply of the daemon other than 200.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap makes a 404 match queue.ErrNotFound with errors.Is.
func (e *Error) Unwrap() error {
	if e.Status == http.StatusNotFound {
		return queue.ErrNotFound
	}
	return nil
}

// List describes every queued message.
func (c *Client) List() []queue.Summary {
	list, _ := c.ListErr()
	return list
}

// ListErr is List with the error that List, to satisfy QueueOps, drops.
func (c *Client) ListErr() ([]queue.Summary, error) {
	var list []queue.Summary
	if err := c.do(http.MethodGet, "/v1/queue", &list); err != nil {
		return nil, err
	}
	return list, nil
}

// Show describes one message with its header section.
func (c *Client) Show(id string) (*queue.Detail, error) {
	var d queue.Detail
	if err := c.do(http.MethodGet, "/v1/queue/"+url.PathEscape(id), &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Flush makes a message due now, or every message for id "".
func (c *Client) Flush(id string) error {
	if id == "" {
		return c.do(http.MethodPost, "/v1/queue/flush", nil)
	}
	return c.action(id, "flush")
}

// Hold stops delivery attempts of a message.
func (c *Client) Hold(id string) error { return c.action(id, "hold") }

// Release makes a held message due now.
func (c *Client) Release(id string) error { return c.action(id, "release") }

// Delete removes a message without notifying anyone.
func (c *Client) Delete(id string) error { return c.action(id, "delete") }

// Pickup asks the daemon to scan the sendmail drop directory now.
func (c *Client) Pickup() error { return c.do(http.MethodPost, "/v1/pickup", nil) }

func (c *Client) action(id, action string) error {
	return c.do(http.MethodPost, "/v1/queue/"+url.PathEscape(id)+"/"+action, nil)
}

// do sends one request and decodes a 200 reply into out (when not nil).
func (c *Client) do(method, path string, out any) error {
	return c.doBody(method, path, http.NoBody, out)
}

// doBody is do with a request body.
func (c *Client) doBody(method, path string, reqBody io.Reader, out any) error {
	ctx := context.Background()
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://posthorn"+path, reqBody)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("control: reading reply: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var eb errorBody
		if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
			eb.Error = fmt.Sprintf("control: %s: %s", resp.Status, bytes.TrimSpace(body))
		}
		return &Error{Status: resp.StatusCode, Message: eb.Error}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("control: decoding reply: %w", err)
	}
	return nil
}
