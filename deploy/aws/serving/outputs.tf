output "api_url" {
  description = "Append /recommend?user_id=1&k=5 (HTTPS, with AWS's certificate)."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "endpoint_name" {
  description = "The SageMaker endpoint, for `aws sagemaker-runtime invoke-endpoint`."
  value       = aws_sagemaker_endpoint.recommender.name
}
