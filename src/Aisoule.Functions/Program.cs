using Aisoule.Functions.Hosting;
using Aisoule.Functions.Pipeline;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<ApiPipelineMiddleware>();
builder.Services.AddAisoule(builder.Configuration);
builder.Services.AddAisouleTelemetry(builder.Configuration).UseFunctionsWorkerDefaults();
builder.Build().Run();
