using Aisoule.Core.Templates;
using Microsoft.Azure.Functions.Worker;

namespace Aisoule.Functions.Templates;

/// <summary>Pulls every Cloud API number's templates from Meta on a schedule (setting <c>TemplateSyncSchedule</c>, hourly by default).</summary>
public sealed class TemplateSyncFunctions(TemplateService templates)
{
    [Function(nameof(SyncTemplatesOnSchedule))]
    public async Task SyncTemplatesOnSchedule([TimerTrigger("%TemplateSyncSchedule%")] TimerInfo timer, CancellationToken cancellationToken) =>
        await templates.SyncEverywhereAsync(cancellationToken).ConfigureAwait(false);
}
