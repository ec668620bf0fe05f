# A three-member etcd cluster for Chopsticks on Nomad.
#
# etcd members need stable addresses and their data across restarts, so each
# member is pinned to one of three Nomad clients (by IP address) and keeps its
# data in a host volume named "etcd" declared in that client's configuration:
#
#   client {
#     host_volume "etcd" {
#       path      = "/var/lib/etcd"
#       read_only = false
#     }
#   }
#
#   nomad job run -var 'addresses=["10.0.0.11","10.0.0.12","10.0.0.13"]' etcd.nomad.hcl
#
# The nodes find the members through the Nomad service "etcd-client".
# Plaintext on a private network; for anything else turn on TLS
# (--cert-file, --key-file, --peer-*) and etcd authentication. Replacing a
# lost machine: docs/operations.md, "etcd".

variable "image" {
  type    = string
  default = "quay.io/coreos/etcd:v3.7.1"
}

variable "datacenters" {
  type    = list(string)
  default = ["*"]
}

variable "addresses" {
  type        = list(string)
  description = "IP addresses of the three (or five) Nomad clients that run the members."
  default     = ["10.0.0.11", "10.0.0.12", "10.0.0.13"]
}

locals {
  # Member names are derived from the address, so every allocation knows its
  # own name and the whole initial cluster without coordination.
  initial_cluster = join(",", [for a in var.addresses : "etcd-${a}=http://${a}:2380"])
}

job "etcd" {
  datacenters = var.datacenters
  type        = "service"

  group "etcd" {
    count = length(var.addresses)

    constraint {
      attribute = "${attr.unique.network.ip-address}"
      operator  = "set_contains_any"
      value     = join(",", var.addresses)
    }

    constraint {
      operator = "distinct_hosts"
      value    = "true"
    }

    # One member at a time, and only after the previous one is healthy: the
    # cluster keeps its quorum through an update.
    update {
      max_parallel     = 1
      health_check     = "checks"
      min_healthy_time = "30s"
      healthy_deadline = "5m"
      auto_revert      = true
    }

    volume "data" {
      type      = "host"
      source    = "etcd"
      read_only = false
    }

    network {
      port "client" {
        static = 2379
      }
      port "peer" {
        static = 2380
      }
      port "metrics" {
        static = 2381
      }
    }

    service {
      name     = "etcd-client"
      provider = "nomad"
      port     = "client"
      tags     = ["etcd"]

      check {
        name     = "health"
        type     = "http"
        port     = "metrics"
        path     = "/health"
        interval = "10s"
        timeout  = "3s"
      }
    }

    service {
      name     = "etcd-metrics"
      provider = "nomad"
      port     = "metrics"
      tags     = ["prometheus"]
    }

    task "etcd" {
      driver       = "docker"
      kill_signal  = "SIGTERM"
      kill_timeout = "30s"

      volume_mount {
        volume      = "data"
        destination = "/var/lib/etcd"
      }

      config {
        image        = var.image
        network_mode = "host"
        command      = "/usr/local/bin/etcd"
        args = [
          "--name=etcd-${NOMAD_IP_peer}",
          "--data-dir=/var/lib/etcd",
          "--listen-client-urls=http://${NOMAD_IP_client}:2379,http://127.0.0.1:2379",
          "--advertise-client-urls=http://${NOMAD_IP_client}:2379",
          "--listen-peer-urls=http://${NOMAD_IP_peer}:2380",
          "--initial-advertise-peer-urls=http://${NOMAD_IP_peer}:2380",
          "--listen-metrics-urls=http://${NOMAD_IP_metrics}:2381",
          "--initial-cluster=${local.initial_cluster}",
          "--initial-cluster-state=new",
          "--initial-cluster-token=chopsticks",
          "--auto-compaction-mode=periodic",
          "--auto-compaction-retention=1h",
          "--quota-backend-bytes=4294967296",
          "--snapshot-count=10000",
        ]
      }

      resources {
        cpu    = 500
        memory = 1024
      }
    }
  }
}
