using System.Globalization;
using Aisoule.Bench;

// bench/run <mode> …: see bench/README.md
var mode = args.FirstOrDefault() ?? "help";
int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
switch (mode)
{
    case "contacts":
        await ContactListBenchmark.RunAsync(Arg(1, 100), Arg(2, 100_000), Arg(3, 500), Arg(4, 8)).ConfigureAwait(false);
        break;
    case "storage":
        await StorageScalingBenchmark.RunAsync(Arg(1, 100_000), Arg(2, 500), Arg(3, 8)).ConfigureAwait(false);
        break;
    case "api":
        await ApiOverheadBenchmark.RunAsync(Arg(1, 300), Arg(2, 5000), Arg(3, 16)).ConfigureAwait(false);
        break;
    case "dispatch":
        await DispatchBenchmark.RunAsync(Arg(1, 10_000), Arg(2, 80), Arg(3, 1_000)).ConfigureAwait(false);
        break;
    case "campaign":
        await CampaignBenchmark.RunAsync(Arg(1, 10_000), Arg(2, 80), Arg(3, 20_000), Arg(4, 5_000)).ConfigureAwait(false);
        break;
    case "load":
        await LoadBenchmark.RunAsync(Arg(1, 24), Arg(2, 60), Arg(3, 32)).ConfigureAwait(false);
        break;
    case "webhooks":
        await WebhookBenchmark.RunAsync(Arg(1, 10_000), Arg(2, 3), Arg(3, 4)).ConfigureAwait(false);
        break;
    case "queue":
        await QueueFloorBenchmark.RunAsync(Arg(1, 10_000), Arg(2, 2_000)).ConfigureAwait(false);
        break;
    default:
        Console.WriteLine("usage: bench/run contacts [small=100] [large=100000] [requests=500] [concurrency=8]");
        Console.WriteLine("       bench/run api [keys=300] [requests=5000] [concurrency=16]");
        Console.WriteLine("       bench/run campaign [recipients=10000] [throughput_mps=80] [plan_recipients=20000] [ceiling_recipients=5000]");
        Console.WriteLine("       bench/run dispatch [messages=10000] [throughput_mps=80] [steady=1000]");
        Console.WriteLine("       bench/run load [clients=24] [seconds=60] [writers_max=32]");
        Console.WriteLine("       bench/run queue [depth=10000] [sample=2000]");
        Console.WriteLine("       bench/run webhooks [events=10000] [subscriptions=3] [in_flight_per_webhook=4]");
        Console.WriteLine("       bench/run storage [rows=100000] [requests=500] [concurrency=8]");
        break;
}
