package commands

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/chopsticks-bot/chopsticks/refusal"
	"github.com/chopsticks-bot/chopsticks/voice"
)

// queuePositions suggests /remove's positions: the tracks of the caller's
// queue from the page holding the number typed (the first page when none
// is), those whose position starts with it, as "3. Title — Author". A
// caller with no queue to see (not in voice, nothing playing) gets none.
func (mu *music) queuePositions(ctx context.Context, inv *Invocation, partial string) ([]Choice, error) {
	c, err := caller(inv)
	if err != nil {
		return nil, nil
	}
	view := func(page int) (voice.QueueView, error) {
		v, err := voice.Do(ctx, mu.m, voice.OpQueue, voice.QueueArgs{Caller: c, Page: page})
		if _, refused := refusal.As(err); refused {
			return voice.QueueView{}, nil
		}
		return v, err
	}
	v, err := view(1)
	if err != nil {
		return nil, fmt.Errorf("queue positions: %w", err)
	}
	typed := strings.TrimSpace(partial)
	if n, ok := partialInt(typed); ok && n > int64(len(v.Items)) && len(v.Items) > 0 && v.Pages > 1 {
		per := int64(len(v.Items)) // page 1 is full when there are more
		if page := (n-1)/per + 1; page <= int64(v.Pages) {
			if v, err = view(int(page)); err != nil {
				return nil, fmt.Errorf("queue positions: %w", err)
			}
		}
	}
	var out []Choice
	for k, it := range v.Items {
		pos := v.First + k
		if !strings.HasPrefix(strconv.Itoa(pos), typed) || len(out) == maxSuggestions {
			continue
		}
		name := fmt.Sprintf("%d. %s", pos, it.Track.Info.Title)
		if it.Track.Info.Author != "" {
			name += " — " + it.Track.Info.Author
		}
		out = append(out, Choice{Name: name, Value: int64(pos)})
	}
	return out, nil
}
