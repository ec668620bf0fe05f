# PostgreSQL for Chopsticks on Nomad: one instance on a host volume.
#
# PostgreSQL holds what must not be lost: the economy ledger, the agent
# registry and the audit log. A managed PostgreSQL (with point-in-time
# recovery, automatic failover and tested backups) is the better choice for
# production; use this job for small or self-hosted deployments, and then
# take backups yourself (docs/operations.md, "PostgreSQL").
#
# Needs a host volume "postgres" on the client that runs it, and the password
# in the Nomad variable nomad/jobs/postgres (key POSTGRES_PASSWORD):
#
#   nomad var put nomad/jobs/postgres POSTGRES_PASSWORD=$(openssl rand -hex 32)
#   nomad job run postgres.nomad.hcl
#
# The nodes' POSTGRES_URL is then
# postgres://chopsticks:<password>@<address>:5432/chopsticks?sslmode=disable
# (use sslmode=verify-full with a managed service).

variable "image" {
  type    = string
  default = "postgres:17.6"
}

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "max_connections" {
  type        = number
  description = "Must exceed the sum of all nodes' pool sizes plus room for migrations and admin."
  default     = 200
}

job "postgres" {
  datacenters = var.datacenters
  type        = "service"

  group "postgres" {
    count = 1

    update {
      max_parallel     = 1
      health_check     = "checks"
      min_healthy_time = "10s"
      healthy_deadline = "5m"
      auto_revert      = true
    }

    volume "data" {
      type      = "host"
      source    = "postgres"
      read_only = false
    }

    network {
      port "db" {
        static = 5432
      }
    }

    service {
      name     = "postgres"
      provider = "nomad"
      port     = "db"

      check {
        name     = "tcp"
        type     = "tcp"
        interval = "10s"
        timeout  = "3s"
      }
    }

    task "postgres" {
      driver = "docker"
      # SIGINT is PostgreSQL's "fast shutdown"; give it time to checkpoint.
      kill_signal  = "SIGINT"
      kill_timeout = "120s"

      volume_mount {
        volume      = "data"
        destination = "/var/lib/postgresql/data"
      }

      config {
        image        = var.image
        network_mode = "host"
        args = [
          "postgres",
          "-c", "max_connections=${var.max_connections}",
          "-c", "shared_buffers=1GB",
          "-c", "effective_cache_size=3GB",
          "-c", "wal_compression=on",
          "-c", "log_min_duration_statement=500ms",
        ]
      }

      env {
        POSTGRES_USER = "chopsticks"
        POSTGRES_DB   = "chopsticks"
        PGDATA        = "/var/lib/postgresql/data/pgdata"
      }

      template {
        destination = "secrets/postgres.env"
        env         = true
        change_mode = "noop"
        data        = <<-EOT
        {{ with nomadVar "nomad/jobs/postgres" -}}
        POSTGRES_PASSWORD={{ .POSTGRES_PASSWORD }}
        {{- end }}
        EOT
      }

      resources {
        cpu    = 1000
        memory = 4096
      }
    }
  }
}
