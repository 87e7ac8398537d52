#include <stdio.h>
#include <stdlib.h>
#include <time.h>
void sgemm_(const char*,const char*,const int*,const int*,const int*,const float*,const float*,const int*,const float*,const int*,const float*,float*,const int*);
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(int argc,char**argv){
  int N=atoi(argv[1]), K=atoi(argv[2]);
  int Ms[]={1,8,16,32,48,64,99,128,197,256,499};
  int L=24; // distinct weights, so they come from DRAM like a real pass
  float **W=malloc(L*sizeof(float*));
  for(int l=0;l<L;l++){W[l]=aligned_alloc(2<<20,(size_t)N*K*4);for(size_t i=0;i<(size_t)N*K;i++)W[l][i]=(float)((i*7)%13)*0.01f;}
  float *x=aligned_alloc(64,(size_t)499*K*4),*o=aligned_alloc(64,(size_t)499*N*4);
  for(size_t i=0;i<(size_t)499*K;i++)x[i]=(float)(i%17)*0.1f;
  float one=1,zero=0;
  for(int mi=0;mi<11;mi++){int M=Ms[mi];
    double best=1e9,sum=0;int reps=5;
    for(int r=0;r<reps;r++){double t0=now();for(int l=0;l<L;l++)sgemm_("T","N",&N,&M,&K,&one,W[l],&K,x,&K,&zero,o,&N);double t=(now()-t0)/L;if(t<best)best=t;}
    printf("M=%4d  %.3f ms  %.1f GFLOP/s\n",M,best*1e3,2.0*M*N*K/best*1e-9);
  }
}
