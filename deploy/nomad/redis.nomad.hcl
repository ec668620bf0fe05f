# Redis for Chopsticks on Nomad: one instance with append-only persistence.
#
# Chopsticks keeps nothing in Redis that it cannot lose without harm (rate
# limits, cooldown fast path, sessions, queues, gateway checkpoints), and it
# keeps working through a Redis outage on a per-node fallback. One instance
# with a quick restart is therefore a sound start. For automatic failover use
# a managed Redis, or Redis Sentinel; see docs/operations.md, "Redis".
#
# Needs a host volume "redis" on the client that runs it, and the password in
# the Nomad variable nomad/jobs/redis (key REDIS_PASSWORD):
#
#   nomad var put nomad/jobs/redis REDIS_PASSWORD=$(openssl rand -hex 32)
#   nomad job run redis.nomad.hcl
#
# The nodes' REDIS_URL is then redis://:<password>@<address>:6379/0, with the
# address from `nomad service info redis`.

variable "image" {
  type    = string
  default = "redis:7.4.6-alpine"
}

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "maxmemory" {
  type        = string
  description = "Redis maxmemory; keep it below the task's memory."
  default     = "768mb"
}

job "redis" {
  datacenters = var.datacenters
  type        = "service"

  group "redis" {
    count = 1

    update {
      max_parallel     = 1
      health_check     = "checks"
      min_healthy_time = "10s"
      healthy_deadline = "3m"
      auto_revert      = true
    }

    volume "data" {
      type      = "host"
      source    = "redis"
      read_only = false
    }

    network {
      port "redis" {
        static = 6379
      }
    }

    service {
      name     = "redis"
      provider = "nomad"
      port     = "redis"

      check {
        name     = "tcp"
        type     = "tcp"
        interval = "10s"
        timeout  = "3s"
      }
    }

    task "redis" {
      driver       = "docker"
      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      volume_mount {
        volume      = "data"
        destination = "/data"
      }

      config {
        image        = var.image
        network_mode = "host"
        command      = "sh"
        # The password stays out of the command line shown by ps.
        args = [
          "-c",
          "exec redis-server --port 6379 --appendonly yes --appendfsync everysec --maxmemory ${var.maxmemory} --maxmemory-policy noeviction --requirepass \"$REDIS_PASSWORD\"",
        ]
      }

      template {
        destination = "secrets/redis.env"
        env         = true
        change_mode = "restart"
        data        = <<-EOT
        {{ with nomadVar "nomad/jobs/redis" -}}
        REDIS_PASSWORD={{ .REDIS_PASSWORD }}
        {{- end }}
        EOT
      }

      resources {
        cpu    = 500
        memory = 1024
      }
    }
  }
}
