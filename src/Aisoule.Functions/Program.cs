using Aisoule.Functions.Hosting;
using Aisoule.Functions.Pipeline;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.UseMiddleware<ApiPipelineMiddleware>();
builder.Services.AddAisoule(builder.Configuration);
builder.Build().Run();
