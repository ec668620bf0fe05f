package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// OutcomeReplayed is the audit outcome of an admin op sent again after it
// succeeded: the first answer is repeated and nothing changes.
const OutcomeReplayed = "replayed"

// codeOpInProgress answers an op that another request is running; it is
// not the admin's fault, so it is not counted as a failure.
const codeOpInProgress = "op_in_progress"

// staleOp is how long a running op may go without an outcome before a
// retry with the same parameters takes it over (its process died). The
// retry uses the same economy operation, so whatever the first attempt
// did is replayed, never done twice.
const staleOp = "1 minute"

// opResult is what an admin op's work answers.
type opResult struct {
	status int
	body   any
}

// once runs an admin adjustment as op, bound to actor, action and params
// (the request's parameters, written out in full):
//
//   - the first request with op runs work with the economy operation
//     dashboard:<op>:<attempt>;
//   - after a success, the same op and parameters answer the stored
//     success again, replayed, and change nothing;
//   - the same op with other parameters (or by another admin, or for
//     another action) is refused with 409 and changes nothing;
//   - a refusal is not kept: the op is free again, and its next attempt
//     runs with a new economy operation (whatever its parameters);
//   - while the op runs, or after a failure whose effect is unknown, a
//     retry with the same parameters waits its turn (409 op_in_progress)
//     or, after a failure or staleOp, runs again as the same economy
//     operation, which the economy replays if it was applied.
func (s *Server) once(ctx context.Context, op string, actor int64, action, params string,
	work func(op economy.Op) (opResult, error)) (res opResult, replayed bool, err error) {
	var attempt int
	err = s.deps.Pool.QueryRow(ctx, `INSERT INTO dashboard.admin_ops (op, actor_id, action, params, state)
		VALUES ($1, $2, $3, $4, 'running')
		ON CONFLICT (op) DO UPDATE SET actor_id = EXCLUDED.actor_id, action = EXCLUDED.action,
			params = EXCLUDED.params, state = 'running', updated_at = now()
		WHERE admin_ops.state = 'refused'
		   OR (admin_ops.actor_id, admin_ops.action, admin_ops.params) = (EXCLUDED.actor_id, EXCLUDED.action, EXCLUDED.params)
		      AND (admin_ops.state = 'failed' OR admin_ops.state = 'running' AND admin_ops.updated_at < now() - $5::interval)
		RETURNING attempt`, op, actor, action, params, staleOp).Scan(&attempt)
	if errors.Is(err, pgx.ErrNoRows) {
		return s.onceTaken(ctx, op, actor, action, params)
	}
	if err != nil {
		return opResult{}, false, fmt.Errorf("dashboard: claiming op: %w", err)
	}

	res, err = work(economy.Op(fmt.Sprintf("dashboard:%s:%d", op, attempt)))
	var bad *errBadRequest
	ctx = context.WithoutCancel(ctx)
	switch {
	case errors.As(err, &bad):
		// A refusal changed nothing: free the op, with a new economy
		// operation for its next attempt (the economy keeps refusals).
		_, uerr := s.deps.Pool.Exec(ctx, `UPDATE dashboard.admin_ops SET state = 'refused', attempt = attempt + 1,
			updated_at = now() WHERE op = $1 AND attempt = $2`, op, attempt)
		if uerr != nil {
			s.log.Error("dashboard: recording a refused op", "err", uerr)
		}
		return opResult{}, false, err
	case err != nil:
		if _, uerr := s.deps.Pool.Exec(ctx, `UPDATE dashboard.admin_ops SET state = 'failed', updated_at = now()
			WHERE op = $1 AND attempt = $2`, op, attempt); uerr != nil {
			s.log.Error("dashboard: recording a failed op", "err", uerr)
		}
		return opResult{}, false, err
	}
	b, err := json.Marshal(res.body)
	if err != nil {
		return opResult{}, false, fmt.Errorf("dashboard: encoding op answer: %w", err)
	}
	if _, err := s.deps.Pool.Exec(ctx, `UPDATE dashboard.admin_ops SET state = 'ok', status = $3, response = $4,
		updated_at = now() WHERE op = $1 AND attempt = $2`, op, attempt, res.status, b); err != nil {
		// Done in the economy, but a replay would run it again as the same
		// economy operation, which the economy replays: still once.
		s.log.Error("dashboard: recording a done op", "err", err)
	}
	return res, false, nil
}

// onceTaken answers an op that is bound already: its stored success, or
// 409 for other parameters or while it runs.
func (s *Server) onceTaken(ctx context.Context, op string, actor int64, action, params string) (opResult, bool, error) {
	var (
		gotActor  int64
		gotAction string
		gotParams string
		state     string
		status    int
		response  []byte
	)
	err := s.deps.Pool.QueryRow(ctx, `SELECT actor_id, action, params, state, status, response
		FROM dashboard.admin_ops WHERE op = $1`, op).Scan(&gotActor, &gotAction, &gotParams, &state, &status, &response)
	if err != nil {
		return opResult{}, false, fmt.Errorf("dashboard: reading op: %w", err)
	}
	if gotActor != actor || gotAction != action || gotParams != params {
		return opResult{}, false, &errBadRequest{status: http.StatusConflict, code: "op_conflict",
			message: "This op was already used for another request; nothing was changed. Reload the page for a fresh one."}
	}
	if state == "ok" {
		return opResult{status: status, body: json.RawMessage(response)}, true, nil
	}
	return opResult{}, false, &errBadRequest{status: http.StatusConflict, code: codeOpInProgress,
		message: "This request is already being carried out; wait a moment and look at the audit log."}
}
