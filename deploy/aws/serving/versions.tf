terraform {
  required_version = ">= 1.11"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # The state lives in the versioned bucket of ../state, never on one laptop. The bucket and
  # region are given at init: terraform init -backend-config=bucket=... -backend-config=region=...
  backend "s3" {
    key          = "movierec/serving.tfstate"
    encrypt      = true
    use_lockfile = true # a lock object beside the state: two applies never run at once
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = {
      project = var.name # every resource says what it belongs to: the bill can be split by it
    }
  }
}
