using AccountFunctions.Functions;

AccountFunctionsApp.Build(args).Run();
