package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// client speaks the admin API.
type client struct {
	base    string // http://host:port
	token   string
	timeout time.Duration
	http    *http.Client
}

// refusedError is an answer other than 2xx: the server refused (exit 1).
type refusedError struct {
	status int
	msg    string
}

func (e *refusedError) Error() string {
	return fmt.Sprintf("%s (HTTP %d)", e.msg, e.status)
}

// unreachableError is a request that got no answer (exit 1 too).
type unreachableError struct{ err error }

func (e *unreachableError) Error() string { return "cannot reach the admin API: " + e.err.Error() }

func (c *client) do(ctx context.Context, method, path string, body any, accept string) ([]byte, http.Header, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		rd = bytes.NewReader(data)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.base, "/")+"/admin/v1"+path, rd)
	if err != nil {
		return nil, nil, &unreachableError{err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, nil, &unreachableError{err}
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if err != nil {
		return nil, nil, &unreachableError{err}
	}
	if res.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
			Would string `json:"would"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			msg = e.Error
			if e.Would != "" {
				msg += "; it would " + e.Would
			}
		}
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return nil, res.Header, &refusedError{status: res.StatusCode, msg: msg}
	}
	return data, res.Header, nil
}

func (c *client) get(ctx context.Context, path string, v any) ([]byte, error) {
	return c.call(ctx, http.MethodGet, path, nil, v)
}

func (c *client) post(ctx context.Context, path string, body any, v any) ([]byte, error) {
	return c.call(ctx, http.MethodPost, path, body, v)
}

// call sends a JSON request and decodes the JSON answer into v (unless nil).
func (c *client) call(ctx context.Context, method, path string, body, v any) ([]byte, error) {
	data, _, err := c.do(ctx, method, path, body, "application/json")
	if err != nil || v == nil {
		return data, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("the server's answer to %s is not what bumbactl expects: %v", path, err)
	}
	return data, nil
}

func (c *client) getText(ctx context.Context, path string) (string, error) {
	data, _, err := c.do(ctx, http.MethodGet, path, nil, "text/plain")
	return string(data), err
}
