package agentpool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/chopsticks-bot/chopsticks/discordapi"
)

// Errors of the token check.
var (
	// ErrBadToken means Discord rejected the token or it is not a bot's.
	ErrBadToken = errors.New("bad agent token")
	// ErrDiscordUnavailable means Discord could not answer the check.
	ErrDiscordUnavailable = errors.New("could not check the token with Discord")
)

// BotUser is the account a token belongs to.
type BotUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Bot      bool   `json:"bot"`
}

// TokenChecker asks Discord (GET /api/v10/users/@me) whom a token belongs to.
type TokenChecker struct {
	base *url.URL
	hc   *http.Client
}

// NewTokenChecker checks tokens against the Discord API at base (for example
// discordapi.DefaultBase, or discordsim's address in tests); hc may be nil.
func NewTokenChecker(base string, hc *http.Client) (*TokenChecker, error) {
	u, err := discordapi.ParseBase(base)
	if err != nil {
		return nil, fmt.Errorf("DISCORD_API_URL: %w", err)
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &TokenChecker{base: u, hc: hc}, nil
}

// Check returns the bot user of token. A token Discord refuses, or one that
// belongs to a user account, gives ErrBadToken. Errors never contain the token.
func (c *TokenChecker) Check(ctx context.Context, token Token) (BotUser, error) {
	if token.IsZero() {
		return BotUser{}, fmt.Errorf("%w: the token is empty", ErrBadToken)
	}
	for _, r := range token.Reveal() {
		if r <= ' ' || r > '~' {
			return BotUser{}, fmt.Errorf("%w: the token contains spaces or characters a Discord token never has", ErrBadToken)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+"/api/v10/users/@me", nil)
	if err != nil {
		return BotUser{}, fmt.Errorf("%w: %v", ErrDiscordUnavailable, err)
	}
	req.Header.Set("Authorization", "Bot "+token.Reveal())
	req.Header.Set("User-Agent", "DiscordBot (https://github.com/chopsticks-bot/chopsticks, 1) chopsticks-agentpool")
	resp, err := c.hc.Do(req)
	if err != nil {
		return BotUser{}, fmt.Errorf("%w: %v", ErrDiscordUnavailable, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return BotUser{}, fmt.Errorf("%w: Discord refused it (%s)", ErrBadToken, resp.Status)
	case resp.StatusCode != http.StatusOK:
		return BotUser{}, fmt.Errorf("%w: Discord answered %s", ErrDiscordUnavailable, resp.Status)
	}
	var u BotUser
	if err := json.Unmarshal(body, &u); err != nil || u.ID == "" {
		return BotUser{}, fmt.Errorf("%w: unexpected answer from /users/@me", ErrDiscordUnavailable)
	}
	if !u.Bot {
		return BotUser{}, fmt.Errorf("%w: it belongs to user account %s, not a bot (agents must be bot accounts)", ErrBadToken, u.ID)
	}
	return u, nil
}
