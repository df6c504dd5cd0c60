using Aisoule.Functions.Catalog;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.LocalHost;

/// <summary>Runs the timer-triggered functions on their NCRONTAB schedules (UTC), as the Functions host does.</summary>
internal sealed partial class TimerTriggerListener(
    FunctionCatalog catalog,
    IConfiguration configuration,
    IServiceScopeFactory scopes,
    TimeProvider clock,
    ILogger<TimerTriggerListener> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(catalog.TimerFunctions.Where(f => !BindingExpressions.IsDisabled(f.Name, configuration)).Select(f => Task.Run(() => RunAsync(f, NCrontab.Parse(BindingExpressions.Resolve(f.Schedule!, configuration)), stoppingToken), stoppingToken)));

    private async Task RunAsync(FunctionDescriptor function, NCrontab schedule, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var next = schedule.Next(clock.GetUtcNow());
            try
            {
                await Task.Delay(next - clock.GetUtcNow() is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero, clock, stoppingToken).ConfigureAwait(false);
                await using var scope = scopes.CreateAsyncScope();
                await FunctionInvoker.InvokeAsync(function, scope.ServiceProvider, p =>
                    function.IsTrigger(p) ? new TimerInfo() : stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogFailed(logger, ex, function.Name);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Timer function {Function} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string function);
}
