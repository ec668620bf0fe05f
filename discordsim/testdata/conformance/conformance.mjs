// Conformance client for discordsim, run by ../../conformance_test.go.
//
// It drives discord.js's own libraries (@discordjs/ws, @discordjs/rest and
// discord-api-types, written by others against the real Discord) at the
// emulator, so the emulator cannot drift into agreeing with our bot's mistakes.
// Nothing here re-implements protocol logic: sharding, identify throttling,
// heartbeats, resuming, rate-limit handling are all the libraries' own.
//
// Protocol with the Go test: one JSON object per line.
//   stdout (script -> Go): {"event": "...", ...}
//   stdin  (Go -> script): {"cmd": "...", ...}
// Environment: SIM_API (e.g. http://127.0.0.1:PORT/api), SIM_TOKEN, SIM_APP_ID.

import { DefaultRestOptions, REST, RESTEvents } from '@discordjs/rest';
import { WebSocketManager, WebSocketShardEvents } from '@discordjs/ws';
import {
	GatewayDispatchEvents,
	GatewayIntentBits,
	InteractionResponseType,
	InteractionType,
	Routes,
} from 'discord-api-types/v10';
import { createInterface } from 'node:readline';

const { SIM_API, SIM_TOKEN, SIM_APP_ID } = process.env;
if (!SIM_API || !SIM_TOKEN || !SIM_APP_ID) {
	process.stderr.write('conformance.mjs: SIM_API, SIM_TOKEN and SIM_APP_ID must be set\n');
	process.exit(2);
}

function out(event) {
	process.stdout.write(`${JSON.stringify(event)}\n`);
}

// A 429 body is read here, for the report, and served again to the library.
function replayable(res, text) {
	return {
		...res,
		body: null,
		bodyUsed: false,
		headers: res.headers,
		status: res.status,
		statusText: res.statusText,
		ok: res.ok,
		async text() {
			return text;
		},
		async json() {
			return JSON.parse(text);
		},
		async arrayBuffer() {
			return new TextEncoder().encode(text).buffer;
		},
	};
}

const rateHeaders = [
	'retry-after',
	'x-ratelimit-global',
	'x-ratelimit-scope',
	'x-ratelimit-limit',
	'x-ratelimit-remaining',
	'x-ratelimit-reset',
	'x-ratelimit-reset-after',
	'x-ratelimit-bucket',
];

// newREST builds a @discordjs/rest client whose transport is the library's
// default one, observed: every response is reported (429s with headers and body).
function newREST(name, options = {}) {
	const rest = new REST({
		api: SIM_API,
		version: '10',
		retries: 1,
		timeout: 10_000,
		...options,
		async makeRequest(url, init) {
			const res = await DefaultRestOptions.makeRequest(url, init);
			const path = new URL(url).pathname;
			if (res.status !== 429) {
				out({ event: 'http', client: name, method: init.method, path, status: res.status });
				return res;
			}
			const text = await res.text();
			const headers = {};
			for (const h of rateHeaders) {
				if (res.headers.has(h)) headers[h] = res.headers.get(h);
			}
			let body = null;
			try {
				body = JSON.parse(text);
			} catch {
				body = text;
			}
			out({ event: 'http_429', client: name, method: init.method, path, status: 429, headers, body });
			return replayable(res, text);
		},
	}).setToken(SIM_TOKEN);
	rest.on(RESTEvents.RateLimited, (info) =>
		out({ event: 'rest_rate_limited', client: name, global: info.global, route: info.route, time_to_reset: info.timeToReset, limit: info.limit }),
	);
	rest.on(RESTEvents.InvalidRequestWarning, (info) => out({ event: 'rest_invalid_warning', client: name, ...info }));
	return rest;
}

const rest = newREST('main');

async function guarded(name, fn) {
	const start = Date.now();
	try {
		const result = await fn();
		out({ event: `${name}_done`, ok: true, elapsed_ms: Date.now() - start, ...result });
	} catch (error) {
		out({ event: `${name}_done`, ok: false, elapsed_ms: Date.now() - start, error: String(error?.stack ?? error) });
	}
}

// routeBurst sends n messages at once to one channel through one client: the
// library must keep to the bucket from the X-RateLimit headers alone.
async function routeBurst(channelID, n) {
	const results = await Promise.allSettled(
		Array.from({ length: n }, (_, i) =>
			rest.post(Routes.channelMessages(channelID), { body: { content: `burst ${i}` } }),
		),
	);
	const failed = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
	const ids = results.filter((r) => r.status === 'fulfilled').map((r) => r.value.id);
	return { sent: ids.length, failed, ids };
}

// sharedBucket has two clients (as two processes of one bot would) each
// send n messages to one channel at once: they share the bucket without
// sharing state, so one of them meets a 429 (scope "user") and must recover.
async function sharedBucket(channelID, n) {
	const clients = [newREST('shared-a'), newREST('shared-b')];
	const results = await Promise.allSettled(
		clients.flatMap((client, c) =>
			Array.from({ length: n }, (_, i) =>
				client.post(Routes.channelMessages(channelID), { body: { content: `shared ${c}-${i}` } }),
			),
		),
	);
	const failed = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
	const ids = results.filter((r) => r.status === 'fulfilled').map((r) => r.value.id);
	return { sent: ids.length, failed, ids };
}

// globalBurst fetches many channels at once (one request per route bucket)
// through a client allowed more than Discord's global limit, so the server's
// global limit answers 429 and the library has to wait and retry.
async function globalBurst(channelIDs) {
	const burst = newREST('burst', { globalRequestsPerSecond: 10_000 });
	const results = await Promise.allSettled(channelIDs.map((id) => burst.get(Routes.channel(id))));
	const failed = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
	const ids = results.filter((r) => r.status === 'fulfilled').map((r) => r.value.id);
	return { fetched: ids.length, failed, ids };
}

const manager = new WebSocketManager({
	token: SIM_TOKEN,
	intents: GatewayIntentBits.Guilds,
	rest,
	// shardCount null: the recommended count from GET /gateway/bot; the gateway
	// URL and max_concurrency come from there too.
	shardCount: null,
});

const shardState = new Map(); // shard id -> { expected: Set, received: Set, readyReported }

// at: wall-clock ms with sub-ms precision, to compare with the emulator's records.
manager.on(WebSocketShardEvents.Debug, (message, shardId) =>
	out({ event: 'debug', shard: shardId, at: performance.timeOrigin + performance.now(), message }),
);
manager.on(WebSocketShardEvents.Error, (error, shardId) => out({ event: 'shard_error', shard: shardId, error: String(error?.stack ?? error) }));
manager.on(WebSocketShardEvents.Closed, (code, shardId) => out({ event: 'closed', shard: shardId, code }));
manager.on(WebSocketShardEvents.Resumed, (shardId) => out({ event: 'resumed', shard: shardId }));
manager.on(WebSocketShardEvents.HeartbeatComplete, (info, shardId) => out({ event: 'heartbeat_ack', shard: shardId, latency: info.latency }));

manager.on(WebSocketShardEvents.Dispatch, (payload, shardId) => {
	const { t, d, s } = payload;
	switch (t) {
		case GatewayDispatchEvents.Ready: {
			const expected = new Set(d.guilds.map((g) => g.id));
			shardState.set(shardId, { expected, received: new Set(), complete: false });
			out({
				event: 'ready',
				shard: shardId,
				seq: s,
				session_id: d.session_id,
				resume_gateway_url: d.resume_gateway_url,
				shard_field: d.shard,
				v: d.v,
				user_id: d.user.id,
				application_id: d.application.id,
				guilds: [...expected],
				unavailable: d.guilds.every((g) => g.unavailable === true),
			});
			maybeComplete(shardId);
			break;
		}
		case GatewayDispatchEvents.GuildCreate: {
			out({ event: 'guild_create', shard: shardId, seq: s, id: d.id, channels: d.channels?.length ?? 0 });
			const st = shardState.get(shardId);
			if (st) {
				st.received.add(d.id);
				maybeComplete(shardId);
			}
			break;
		}
		case GatewayDispatchEvents.InteractionCreate: {
			if (d.type !== InteractionType.ApplicationCommand) break;
			out({ event: 'interaction', shard: shardId, seq: s, id: d.id, guild_id: d.guild_id, name: d.data.name });
			// Answered through REST as any discord.js bot does (no auth header on callbacks).
			rest
				.post(Routes.interactionCallback(d.id, d.token), {
					auth: false,
					body: { type: InteractionResponseType.ChannelMessageWithSource, data: { content: `pong from discord.js shard ${shardId}` } },
				})
				.then(() => out({ event: 'interaction_answered', shard: shardId, id: d.id }))
				.catch((error) => out({ event: 'interaction_answer_failed', shard: shardId, id: d.id, error: String(error?.stack ?? error) }));
			break;
		}
		default:
			break;
	}
});

function maybeComplete(shardId) {
	const st = shardState.get(shardId);
	if (!st || st.complete) return;
	for (const id of st.expected) if (!st.received.has(id)) return;
	st.complete = true;
	out({ event: 'guilds_complete', shard: shardId, guilds: [...st.received] });
}

async function handle(cmd) {
	switch (cmd.cmd) {
		case 'route_burst':
			return guarded('route_burst', () => routeBurst(cmd.channel_id, cmd.n));
		case 'shared_bucket':
			return guarded('shared_bucket', () => sharedBucket(cmd.channel_id, cmd.n));
		case 'global_burst':
			return guarded('global_burst', () => globalBurst(cmd.channel_ids));
		case 'exit':
			await manager.destroy({ reason: 'conformance test done', code: 1000 });
			out({ event: 'bye' });
			process.exit(0);
		default:
			out({ event: 'unknown_cmd', cmd });
	}
}

createInterface({ input: process.stdin }).on('line', (line) => {
	if (!line.trim()) return;
	let cmd;
	try {
		cmd = JSON.parse(line);
	} catch (error) {
		out({ event: 'bad_cmd', line, error: String(error) });
		return;
	}
	handle(cmd).catch((error) => out({ event: 'cmd_failed', cmd, error: String(error?.stack ?? error) }));
});
// Go closing stdin (test end) ends the script.
process.stdin.on('end', () => process.exit(0));

async function main() {
	const me = await rest.get(Routes.user('@me'));
	out({ event: 'me', id: me.id, bot: me.bot === true });
	const gateway = await manager.fetchGatewayInformation();
	out({ event: 'gateway_bot', ...gateway });
	const cmds = await rest.put(Routes.applicationCommands(SIM_APP_ID), {
		body: [{ name: 'ping', description: 'Replies from discord.js', type: 1 }],
	});
	out({ event: 'commands', names: cmds.map((c) => c.name), ids: cmds.map((c) => c.id) });
	await manager.connect();
	out({ event: 'connected', shards: await manager.getShardCount() });
}

main().catch((error) => {
	out({ event: 'fatal', error: String(error?.stack ?? error) });
	process.exit(1);
});
