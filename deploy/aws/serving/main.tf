# The course's API on AWS, managed: what the VPS did by hand, as resources.
#
#   a client ── HTTPS ──► API Gateway (HTTP API: TLS, throttling)
#                           └─► Lambda (lambda_api.py: checks the query, calls the endpoint)
#                                 └─► SageMaker serverless endpoint (PyTorch container +
#                                     model.tar.gz: inference.py answers like /recommend)
#
# Nothing here is ever applied by the course: tests run `terraform validate` and `fmt -check`.

locals {
  model_bucket = split("/", trimprefix(var.model_data_url, "s3://"))[0]
}

# --- the model endpoint ------------------------------------------------------------------------

data "aws_iam_policy_document" "sagemaker_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["sagemaker.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "sagemaker" {
  name               = "${var.name}-sagemaker"
  assume_role_policy = data.aws_iam_policy_document.sagemaker_assume.json
}

# Least privilege: read the model archive, pull the container image, write logs. Nothing else.
data "aws_iam_policy_document" "sagemaker" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["arn:aws:s3:::${local.model_bucket}/*"]
  }
  statement {
    actions = [
      "ecr:GetAuthorizationToken",
      "ecr:BatchCheckLayerAvailability",
      "ecr:GetDownloadUrlForLayer",
      "ecr:BatchGetImage",
    ]
    resources = ["*"]
  }
  statement {
    actions   = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "sagemaker" {
  role   = aws_iam_role.sagemaker.id
  policy = data.aws_iam_policy_document.sagemaker.json
}

resource "aws_sagemaker_model" "recommender" {
  name               = var.name
  execution_role_arn = aws_iam_role.sagemaker.arn

  primary_container {
    image          = var.inference_image
    model_data_url = var.model_data_url
    environment = {
      SAGEMAKER_PROGRAM = "inference.py" # code/inference.py inside model.tar.gz
    }
  }
}

resource "aws_sagemaker_endpoint_configuration" "recommender" {
  name = var.name

  production_variants {
    variant_name = "main"
    model_name   = aws_sagemaker_model.recommender.name
    # Serverless: billed per request and per second of compute, nothing while idle, but the
    # first request after a quiet spell waits for a cold start (seconds: torch is loaded).
    serverless_config {
      memory_size_in_mb = var.memory_mb
      max_concurrency   = 5
    }
  }
}

resource "aws_sagemaker_endpoint" "recommender" {
  name                 = var.name
  endpoint_config_name = aws_sagemaker_endpoint_configuration.recommender.name
}

# --- the thin API: a Lambda function behind API Gateway -------------------------------------

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${var.name}-api"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

resource "aws_iam_role_policy_attachment" "lambda_logs" {
  role       = aws_iam_role.lambda.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

data "aws_iam_policy_document" "invoke_endpoint" {
  statement {
    actions   = ["sagemaker:InvokeEndpoint"]
    resources = [aws_sagemaker_endpoint.recommender.arn] # this endpoint, no other
  }
}

resource "aws_iam_role_policy" "invoke_endpoint" {
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.invoke_endpoint.json
}

resource "aws_lambda_function" "api" {
  function_name    = "${var.name}-api"
  role             = aws_iam_role.lambda.arn
  runtime          = "python3.12"
  handler          = "lambda_api.handler"
  filename         = var.lambda_zip
  source_code_hash = filebase64sha256(var.lambda_zip) # a new zip is a new deployment
  timeout          = 30                               # a serverless endpoint's cold start
  memory_size      = 256

  environment {
    variables = {
      ENDPOINT_NAME = aws_sagemaker_endpoint.recommender.name
    }
  }
}

resource "aws_apigatewayv2_api" "api" {
  name          = var.name
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_integration" "api" {
  api_id                 = aws_apigatewayv2_api.api.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.api.invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "recommend" {
  api_id    = aws_apigatewayv2_api.api.id
  route_key = "GET /recommend"
  target    = "integrations/${aws_apigatewayv2_integration.api.id}"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.api.id
  name        = "$default"
  auto_deploy = true

  # nginx's limit of lecture 5, here for the whole API: beyond it, clients get 429.
  default_route_settings {
    throttling_rate_limit  = 10
    throttling_burst_limit = 20
  }
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowApiGateway"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.api.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.api.execution_arn}/*/*"
}
