using Aisoule.Core.Contacts;
using Aisoule.Core.Identity;
using Aisoule.Core.RateLimiting;
using Aisoule.Core.Storage;
using Azure.Core;
using Azure.Data.Tables;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Aisoule.Core.Hosting;

/// <summary>Registers Core's services: options, storage clients, and the services built on them.</summary>
public static class CoreServiceCollectionExtensions
{
    public static IServiceCollection AddAisouleCore(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        // Tests put their own clock in first.
        services.TryAddSingleton(TimeProvider.System);
        services.AddAisouleStorage(configuration);
        services.AddAisouleIdentity(configuration);
        services.AddSingleton<ContactService>();
        services.AddSingleton<ContactLister>();
        services.AddAisouleMessaging(configuration);
        return services;
    }

    private static IServiceCollection AddAisouleIdentity(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IdentityOptions>()
            .Bind(configuration.GetSection("Identity"))
            .PostConfigure<IHostEnvironment>((o, env) => o.SignupEnabled ??= env.IsDevelopment())
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddOptions<OwnerOptions>().Configure(o =>
        {
            o.Email = configuration["AISOULE_OWNER_EMAIL"];
            o.Password = configuration["AISOULE_OWNER_PASSWORD"];
            o.Workspace = configuration["AISOULE_OWNER_WORKSPACE"] is { Length: > 0 } workspace ? workspace : o.Workspace;
        })
            .Validate(
                o => string.IsNullOrEmpty(o.Email) || (System.Net.Mail.MailAddress.TryCreate(o.Email, out _) && o.Password is { Length: >= 10 }),
                "AISOULE_OWNER_EMAIL must be an email address and AISOULE_OWNER_PASSWORD at least 10 characters.")
            .Validate(
                o => !WhatsApp.UnresolvedReference.Is(o.Password),
                "AISOULE_OWNER_PASSWORD is a Key Vault reference App Service could not resolve (its text, not the secret): check the app's access to the vault and the secret's name.")
            .ValidateOnStart();
        services.AddMetrics(); // AccountService counts password hashes; both hosts add it too, this does not rely on them.
        services.AddSingleton<AttemptThrottle>();
        services.AddSingleton<SessionService>();
        services.AddSingleton<AccountService>();
        services.AddSingleton<ApiKeyService>();
        services.AddSingleton<Authenticator>();
        services.AddOptions<RateLimitOptions>().Bind(configuration.GetSection("RateLimiting")).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<RateLimiter>();
        services.AddHostedService<OwnerBootstrapService>();
        return services;
    }

    private static IServiceCollection AddAisouleStorage(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<StorageOptions>()
            .Bind(configuration.GetSection("Storage"))
            .Configure(o =>
            {
                // A connection string, or an identity-based connection (AzureWebJobsStorage__accountName, …).
                if (!configuration.GetSection(StorageOptions.ConnectionSetting).Exists())
                {
                    return;
                }

                try
                {
                    o.Connection = StorageConnection.Parse(configuration);
                    o.ConnectionString = o.Connection.ConnectionString ?? o.ConnectionString;
                }
                catch (InvalidOperationException e)
                {
                    o.ConnectionError = e.Message;
                }
            })
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageConnectionValidation>();

        // Thread-safe clients, one each for the process. Retries are short: a caller waiting on an outage
        // should get a 503 in about a second, not after the SDK's default back-off.
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<StorageOptions>>().Value.ResolveConnection()
            .CreateTableServiceClient(Configure(new TableClientOptions())));
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<StorageOptions>>().Value.ResolveConnection()
            .CreateQueueServiceClient(Configure(new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 })));
        services.AddSingleton<StorageAccount>();
        services.AddSingleton<StorageHealth>();
        return services;
    }

    private static T Configure<T>(T options)
        where T : ClientOptions
    {
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(100);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(1);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(10);
        options.AddPolicy(ReadOnlyStorage.Guard, HttpPipelinePosition.PerCall);
        return options;
    }
}
