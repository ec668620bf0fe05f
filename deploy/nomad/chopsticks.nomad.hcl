# Chopsticks bot nodes on Nomad.
#
#   nomad var put nomad/jobs/chopsticks @secrets.json   # once, see docs/operations.md
#   nomad job run -var image=ghcr.io/chopsticks-bot/chopsticks:1.0.0 chopsticks.nomad.hcl
#
# Needs: the etcd job (etcd.nomad.hcl) or any etcd registered as the Nomad
# service "etcd-client"; PostgreSQL and Redis reachable at the URLs stored in
# the Nomad variable; Nomad clients with the Docker driver and with
#   client { max_kill_timeout = "120s" }
# because the default cap (30s) would cut the drain below short.

variable "image" {
  type        = string
  description = "The chopsticks image, pinned to a version (never latest)."
  default     = "ghcr.io/chopsticks-bot/chopsticks:0.1.0"
}

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "node_count" {
  type        = number
  description = "Bot nodes. Shards and voice agents are spread over them by weight."
  default     = 3
}

job "chopsticks" {
  datacenters = var.datacenters
  type        = "service"

  group "node" {
    count = var.node_count

    # One node per machine: a machine's failure costs one node's shards.
    # Remove to pack several nodes on one client.
    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    # Rolling update: one canary first, then one node at a time. A node counts
    # as healthy when /ready (etcd, PostgreSQL, Redis reachable, its shards
    # connected) has passed for min_healthy_time; a failed rollout reverts.
    update {
      max_parallel      = 1
      canary            = 1
      auto_promote      = true
      auto_revert       = true
      health_check      = "checks"
      min_healthy_time  = "30s"
      healthy_deadline  = "5m"
      progress_deadline = "10m"
      stagger           = "30s"
    }

    # Draining a Nomad client moves nodes one at a time as well.
    migrate {
      max_parallel     = 1
      health_check     = "checks"
      min_healthy_time = "30s"
      healthy_deadline = "5m"
    }

    reschedule {
      delay          = "30s"
      delay_function = "exponential"
      max_delay      = "5m"
      unlimited      = true
    }

    restart {
      attempts = 3
      interval = "5m"
      delay    = "15s"
      mode     = "delay"
    }

    # Host networking with dynamic ports: memberlist must advertise an address
    # the other nodes can reach, which a bridge network would hide.
    network {
      port "http" {}
      port "gossip" {}
    }

    service {
      name     = "chopsticks"
      provider = "nomad"
      port     = "http"
      # Prometheus keeps targets tagged "prometheus" (deploy/prometheus/prometheus-nomad.yml).
      tags = ["prometheus", "http"]

      meta {
        metrics_path = "/metrics"
        node_id      = "nomad-${NOMAD_SHORT_ALLOC_ID}"
      }

      check {
        name     = "ready"
        type     = "http"
        path     = "/ready"
        interval = "10s"
        timeout  = "3s"
      }

      check {
        name     = "alive"
        type     = "http"
        path     = "/health"
        interval = "10s"
        timeout  = "3s"

        # Restart only a process that stopped answering at all; a node that is
        # merely not ready (etcd or a database away) waits instead.
        check_restart {
          limit = 3
          grace = "90s"
        }
      }
    }

    service {
      name     = "chopsticks-gossip"
      provider = "nomad"
      port     = "gossip"

      check {
        name     = "gossip"
        type     = "tcp"
        interval = "15s"
        timeout  = "3s"
      }
    }

    # Applies database migrations before the node starts. Runs in every
    # allocation; tern serialises concurrent runs with an advisory lock and
    # a run with nothing to do returns at once. Migrations must stay
    # compatible with the previous release, which runs until the rollout ends.
    task "migrate" {
      driver = "docker"

      lifecycle {
        hook    = "prestart"
        sidecar = false
      }

      config {
        image           = var.image
        args            = ["migrate"]
        readonly_rootfs = true
        cap_drop        = ["ALL"]
        security_opt    = ["no-new-privileges"]
      }

      template {
        destination = "secrets/migrate.env"
        env         = true
        change_mode = "noop"
        data        = <<-EOT
        {{ with nomadVar "nomad/jobs/chopsticks" -}}
        POSTGRES_URL={{ .POSTGRES_URL }}
        {{- end }}
        EOT
      }

      env {
        LOG_LEVEL = "info"
      }

      resources {
        cpu    = 100
        memory = 128
      }
    }

    task "chopsticks" {
      driver = "docker"

      # SIGTERM starts the drain: the node hands its shards off by RESUME and
      # exits when it holds nothing. shutdown_delay takes the service out of
      # the catalogue first; kill_timeout leaves the drain 90 s before SIGKILL.
      kill_signal    = "SIGTERM"
      kill_timeout   = "90s"
      shutdown_delay = "5s"

      config {
        image           = var.image
        args            = ["node"]
        network_mode    = "host"
        readonly_rootfs = true
        cap_drop        = ["ALL"]
        security_opt    = ["no-new-privileges"]
      }

      env {
        NODE_ID     = "nomad-${NOMAD_SHORT_ALLOC_ID}"
        HTTP_ADDR   = "${NOMAD_ADDR_http}"
        GOSSIP_ADDR = "${NOMAD_ADDR_gossip}"
        NODE_ENV    = "production"
        LOG_LEVEL   = "info"
      }

      # Secrets and URLs from the Nomad variable nomad/jobs/chopsticks, which
      # only this job's tasks can read. Rotating a value restarts the task
      # (which drains first).
      template {
        destination = "secrets/chopsticks.env"
        env         = true
        change_mode = "restart"
        splay       = "60s"
        data        = <<-EOT
        {{ with nomadVar "nomad/jobs/chopsticks" -}}
        DISCORD_TOKEN={{ .DISCORD_TOKEN }}
        CLIENT_ID={{ .CLIENT_ID }}
        DISCORD_CLIENT_SECRET={{ .DISCORD_CLIENT_SECRET }}
        DISCORD_REDIRECT_URI={{ .DISCORD_REDIRECT_URI }}
        POSTGRES_URL={{ .POSTGRES_URL }}
        REDIS_URL={{ .REDIS_URL }}
        AGENT_TOKEN_KEY={{ .AGENT_TOKEN_KEY }}
        DASHBOARD_SESSION_SECRET={{ .DASHBOARD_SESSION_SECRET }}
        {{ with .DASHBOARD_ADMIN_IDS }}DASHBOARD_ADMIN_IDS={{ . }}{{ end }}
        {{ with .DASHBOARD_COOKIE_SECURE }}DASHBOARD_COOKIE_SECURE={{ . }}{{ else }}DASHBOARD_COOKIE_SECURE=true{{ end }}
        {{ with .LAVALINK_NODES }}LAVALINK_NODES={{ . }}{{ end }}
        {{ with .SHARD_COUNT }}SHARD_COUNT={{ . }}{{ end }}
        {{ with .RATE_LIMITS }}RATE_LIMITS={{ . }}{{ end }}
        {{ with .MUSIC_SEARCH }}MUSIC_SEARCH={{ . }}{{ end }}
        {{ with .OTEL_EXPORTER_OTLP_ENDPOINT }}OTEL_EXPORTER_OTLP_ENDPOINT={{ . }}{{ end }}
        {{- end }}
        EOT
      }

      # Where etcd and the other nodes are, from Nomad's service catalogue.
      # A change does not restart the node: seeds matter only when it joins,
      # and the etcd client keeps its own member list.
      template {
        destination = "local/cluster.env"
        env         = true
        change_mode = "noop"
        data        = <<-EOT
        ETCD_ENDPOINTS={{ range $i, $s := nomadService "etcd-client" }}{{ if $i }},{{ end }}http://{{ $s.Address }}:{{ $s.Port }}{{ end }}
        GOSSIP_SEEDS={{ range $i, $s := nomadService "chopsticks-gossip" }}{{ if $i }},{{ end }}{{ $s.Address }}:{{ $s.Port }}{{ end }}
        OTEL_SERVICE_NAME=chopsticks
        EOT
      }

      resources {
        cpu        = 500
        memory     = 512
        memory_max = 1024
      }

      logs {
        max_files     = 5
        max_file_size = 50
      }
    }
  }
}
