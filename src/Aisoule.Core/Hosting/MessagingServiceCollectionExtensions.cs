using System.Net;
using Aisoule.Core.Accounts;
using Aisoule.Core.Campaigns;
using Aisoule.Core.Messaging;
using Aisoule.Core.Messaging.Dispatch;
using Aisoule.Core.Messaging.Inbound;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Messaging.Sending;
using Aisoule.Core.Templates;
using Aisoule.Core.WhatsApp;
using Azure.Identity;
using Azure.Security.KeyVault.Secrets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Aisoule.Core.Hosting;

/// <summary>Messaging: the provider chosen by <c>WhatsApp:Provider</c>, the secret store, the services.</summary>
public static class MessagingServiceCollectionExtensions
{
    public static IServiceCollection AddAisouleMessaging(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<WhatsAppOptions>().Bind(configuration.GetSection("WhatsApp")).ValidateDataAnnotations()
            .Validate<IOptions<Storage.StorageOptions>>(
                (_, storage) => MessagingNames.QueueSettings(storage.Value.Prefix).All(q => configuration[q.Key] is null || configuration[q.Key] == q.Value),
                "The settings SendsQueue, InboundQueue, CampaignStepsQueue, OutboxQueue and WebhookDeliveriesQueue must name the queues the app writes to: Storage:Prefix + 'sends', + 'wainbound', + 'campaignsteps', + 'outbox' and + 'webhookdeliveries'.")
            .ValidateOnStart();

        if (configuration["KeyVault:Uri"] is { Length: > 0 } vault)
        {
            // The app's managed identity; a client registered before this (a test's) is kept.
            services.TryAddSingleton(_ => new SecretClient(new Uri(vault), new DefaultAzureCredential()));
            services.AddSingleton<ISecretStore, KeyVaultSecretStore>();
        }
        else
        {
            services.AddSingleton<ISecretStore, LocalSecretStore>();
        }

        // Meta's Graph API. Per-call timeout; a quick retry only where repeating cannot send twice: any call
        // Meta refused with 429, and GETs on 5xx or timeouts. Everything longer is the dispatcher's back-off.
        services.AddHttpClient<CloudWhatsAppProvider>()
            .AddResilienceHandler("graph", (builder, context) =>
            {
                var o = context.ServiceProvider.GetRequiredService<IOptionsMonitor<WhatsAppOptions>>().CurrentValue;
                builder.AddRetry(new HttpRetryStrategyOptions
                {
                    MaxRetryAttempts = 2,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = TimeSpan.FromMilliseconds(200),
                    MaxDelay = TimeSpan.FromSeconds(2),
                    ShouldRetryAfterHeader = true,
                    ShouldHandle = args =>
                    {
                        var idempotent = args.Context.GetRequestMessage()?.Method == HttpMethod.Get;
                        var status = args.Outcome.Result?.StatusCode;
                        return ValueTask.FromResult(status == HttpStatusCode.TooManyRequests
                            || (idempotent && (args.Outcome.Exception is not null || status is >= HttpStatusCode.InternalServerError)));
                    },
                });
                builder.AddTimeout(o.RequestTimeout);
            });
        services.AddSingleton<SandboxWhatsAppProvider>();
        services.AddSingleton<IWhatsAppProvider>(sp => sp.GetRequiredService<IOptionsMonitor<WhatsAppOptions>>().CurrentValue.IsSandbox
            ? sp.GetRequiredService<SandboxWhatsAppProvider>()
            : sp.GetRequiredService<CloudWhatsAppProvider>());

        services.AddSingleton<InboundChanges>();
        services.AddSingleton<WhatsAppAccountService>();
        services.AddSingleton<TemplateService>();
        services.AddSingleton<AccountLifecycle>();
        services.AddSingleton<IdempotencyStore>();
        services.AddSingleton<MessageStore>();
        services.AddSingleton<SendEnqueuer>();
        services.AddSingleton<MessageLifecycle>();
        services.AddSingleton<DeliveryPolicy>();
        services.AddSingleton<ThroughputGate>();
        services.AddSingleton<SendRules>();
        services.AddSingleton<MessageService>();
        services.AddSingleton<MessageLister>();
        services.AddSingleton<SendDispatcher>();
        services.AddSingleton<PendingSends>();
        services.AddSingleton<SendSweeper>();
        services.AddSingleton<InboundProcessor>();

        services.AddSingleton<Campaigns.CampaignStore>();
        services.AddSingleton<Campaigns.CampaignLifecycle>();
        services.AddSingleton<Campaigns.CampaignPlanner>();
        services.AddSingleton<Campaigns.CampaignChecks>();
        services.AddSingleton<Campaigns.CampaignSteps>();
        services.AddSingleton<Campaigns.CampaignFanout>();
        services.AddSingleton<Campaigns.CampaignGate>();
        services.AddSingleton<Campaigns.CampaignWatcher>();
        services.AddSingleton<Campaigns.CampaignService>();
        services.AddSingleton<ReachLedger>();

        services.AddOptions<Webhooks.WebhookOptions>().Bind(configuration.GetSection("Webhooks")).ValidateDataAnnotations()
            .Validate<Microsoft.Extensions.Hosting.IHostEnvironment>(
                (o, env) => !o.AllowPrivateTargets || Microsoft.Extensions.Hosting.HostEnvironmentEnvExtensions.IsDevelopment(env),
                "Webhooks:AllowPrivateTargets=true lets webhooks reach this machine's network: it is refused outside the Development environment.")
            .ValidateOnStart();
        services.AddSingleton<Webhooks.WebhookSender>();
        services.AddSingleton<Webhooks.WebhookService>();
        services.AddSingleton<Webhooks.WebhookDeliverer>();
        services.AddSingleton<Webhooks.WebhookDeliveries>();
        services.AddSingleton<Webhooks.OutboxRelay>();
        return services;
    }
}
